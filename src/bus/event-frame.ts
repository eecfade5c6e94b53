import type { Codec } from '../codec/codec.js';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import type { DropReporter } from './drop-reporter.js';

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
  /** trace: the trace id, or a W3C `traceparent` naming the publish span (see traceparent.ts) */
  tr: string;
  /** groups whose turn this direct message is (group frames only) */
  g?: string[];
}

/**
 * Decode and check an event frame from the backend (its data stays encoded): every field a
 * handler's meta is built from has its type checked here, so handlers never see a wrong shape.
 * A malformed frame is counted by `drops` (which logs rate-limited) and undefined is returned.
 */
export function decodeFrame(
  codec: Codec,
  payload: Uint8Array,
  drops: DropReporter,
): EventFrame | undefined {
  try {
    const frame = codec.decode(payload) as EventFrame;
    if (typeof frame !== 'object' || frame === null)
      throw new ValidationError('Event frame is not an object.');
    assertName(frame.e, 'Event name');
    if (
      !(frame.d instanceof Uint8Array) ||
      typeof frame.s !== 'string' ||
      typeof frame.n !== 'string' ||
      typeof frame.i !== 'string' ||
      typeof frame.tr !== 'string' ||
      typeof frame.t !== 'number' ||
      !Number.isFinite(frame.t) ||
      (frame.g !== undefined &&
        (!Array.isArray(frame.g) || !frame.g.every((g) => typeof g === 'string')))
    ) {
      throw new ValidationError('Event frame has the wrong shape.');
    }
    return frame;
  } catch (error) {
    drops.drop(error);
    return undefined;
  }
}
