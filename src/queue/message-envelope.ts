import type { Codec } from '../codec/codec.js';
import { SerializationError } from '../errors/errors.js';
import { NO_RETRY, type RetryPolicy } from './retry-policy.js';

/**
 * The stored form of a work-queue message: the codec's encoding of `{ d: data, h?: headers,
 * r?: retry policy, t?: trace id, s?: sending plugin }`. Headers and the policy travel with the message, so whichever
 * node claims it knows how to retry it; the trace id, so its handler's work stays on the sender's
 * trace.
 */
export interface Envelope {
  readonly data: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly policy: RetryPolicy;
  /** The sender's trace, when it had one. */
  readonly traceId: string | undefined;
  /** The sending plugin, as its host named it. */
  readonly sender: string | undefined;
}

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Encode a message; PayloadTooLargeError / SerializationError (also for an own `__proto__` key)
 * / ValidationError (too deep) come from the codec.
 */
export function encodeEnvelope(
  codec: Codec,
  data: unknown,
  headers: Record<string, string> | undefined,
  policy: RetryPolicy | undefined,
  traceId?: string,
  sender?: string,
): Uint8Array {
  const envelope: {
    d: unknown;
    h?: Record<string, string>;
    r?: RetryPolicy;
    t?: string;
    s?: string;
  } = { d: data };
  if (headers !== undefined && Object.keys(headers).length > 0) envelope.h = { ...headers };
  if (policy !== undefined && policy.maxRetries > 0) envelope.r = { ...policy };
  if (traceId !== undefined) envelope.t = traceId;
  if (sender !== undefined) envelope.s = sender;
  return codec.encode(envelope, 'data', 'd');
}

/** Decode a stored message; throws SerializationError when it is not an envelope. */
export function decodeEnvelope(codec: Codec, payload: Uint8Array): Envelope {
  const value = codec.decode(payload) as {
    d?: unknown;
    h?: unknown;
    r?: unknown;
    t?: unknown;
    s?: unknown;
  } | null;
  if (typeof value !== 'object' || value === null || !('d' in value)) {
    throw new SerializationError('not a message envelope');
  }
  return {
    data: value.d,
    headers: isHeaders(value.h) ? Object.freeze({ ...value.h }) : EMPTY_HEADERS,
    policy: isPolicy(value.r) ? value.r : NO_RETRY,
    traceId: typeof value.t === 'string' ? value.t : undefined,
    sender: typeof value.s === 'string' ? value.s : undefined,
  };
}

function isHeaders(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

function isPolicy(value: unknown): value is RetryPolicy {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r['maxRetries'] === 'number' &&
    (r['backoff'] === 'fixed' || r['backoff'] === 'exponential') &&
    typeof r['delay'] === 'number' &&
    typeof r['maxDelay'] === 'number' &&
    typeof r['jitter'] === 'boolean'
  );
}
