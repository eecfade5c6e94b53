import { randomBytes } from 'node:crypto';
import type { TraceCarrier } from '../bus/current-trace.js';

/**
 * The trace as it travels in frames and envelopes: a W3C `traceparent`
 * (`00-<32 hex trace id>-<16 hex parent span id>-01`) when the work runs in a span, else the bare
 * trace id. A bare id is also what nodes without spans send, so both forms are read everywhere.
 */
export function formatTrace(carrier: TraceCarrier): string {
  const { traceId, spanId } = carrier;
  return spanId !== undefined && W3C_TRACE_ID.test(traceId)
    ? `00-${traceId}-${spanId}-01`
    : traceId;
}

/** Longest bare trace id taken from another node (the bound local callers get too). */
export const MAX_CARRIED_TRACE_LENGTH = 512;

/**
 * Read what {@link formatTrace} wrote (a bare trace id is kept as is). The value comes from
 * another node: an empty one or one past {@link MAX_CARRIED_TRACE_LENGTH} is dropped
 * (undefined), so it never becomes the trace every log line and onward call carries.
 */
export function parseTrace(value: string): TraceCarrier | undefined {
  if (value.length === 0 || value.length > MAX_CARRIED_TRACE_LENGTH) return undefined;
  if (value.length !== 55) return { traceId: value };
  const match = TRACEPARENT.exec(value);
  return match === null ? { traceId: value } : { traceId: match[1]!, spanId: match[2]! };
}

/** Is `traceId` a W3C trace id (32 lowercase hex digits, not all zero)? */
export function isW3cTraceId(traceId: string): boolean {
  return W3C_TRACE_ID.test(traceId);
}

const W3C_TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
const TRACEPARENT = /^00-((?!0{32})[0-9a-f]{32})-((?!0{16})[0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * New W3C trace ids, cheap: a random 64-bit per-process prefix and a 64-bit counter, in hex.
 * Unique across processes (the prefix is random), which is all a trace id needs.
 */
export function createTraceIdGenerator(): () => string {
  const prefix = randomBytes(8).toString('hex');
  let counter = 0;
  return () => prefix + (++counter).toString(16).padStart(16, '0');
}
