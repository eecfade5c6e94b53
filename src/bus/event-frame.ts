import type { Logger } from 'pino';
import type { Codec } from '../codec/codec.js';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';

/** An event as it crosses the wire or waits in a durable queue. */
export interface EventFrame {
  /** event name */
  e: string;
  /**
   * The data, encoded on its own: a receiver with no interested subscriber, or a group message
   * built from the same frame, never decodes or encodes it again.
   */
  d: Uint8Array;
  /** event id */
  i: string;
  /** source plugin */
  s: string;
  /** source node */
  n: string;
  /** timestamp, epoch ms */
  t: number;
  /** trace id */
  tr: string;
  /** groups whose turn this direct message is (group frames only) */
  g?: string[];
}

/** Decode and check an event frame from the backend (its data stays encoded); undefined if malformed. */
export function decodeFrame(
  codec: Codec,
  payload: Uint8Array,
  logger: Logger,
): EventFrame | undefined {
  try {
    const frame = codec.decode(payload) as EventFrame;
    assertName(frame.e, 'Event name');
    if (
      !(frame.d instanceof Uint8Array) ||
      typeof frame.s !== 'string' ||
      typeof frame.n !== 'string'
    ) {
      throw new ValidationError('Event frame has the wrong shape.');
    }
    return frame;
  } catch (error) {
    logger.warn({ err: error }, 'dropped a malformed event frame from the backend');
    return undefined;
  }
}
