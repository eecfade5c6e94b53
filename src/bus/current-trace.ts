/**
 * The trace of the handler running right now, synchronously: set by whoever calls a plugin's
 * handler (event bus, chain, queue consumers) for the duration of the call, so what the handler
 * starts before its first `await` (a publish, a queue send, a reported failure) keeps the trace.
 * A plain variable, not an `AsyncLocalStorage`: on Node 20 that would put promise hooks on every
 * promise of the process. After an `await`, pass `meta.traceId` / `message.traceId` explicitly.
 */

/** Anything that knows its trace id (an event's meta, a queue message); read only when needed. */
export interface TraceCarrier {
  readonly traceId: string;
}

let current: TraceCarrier | undefined;

/** The running handler's trace id, if a handler is running synchronously now. */
export function currentTraceId(): string | undefined {
  return current?.traceId;
}

/** Enter `carrier` (returns the previous one, for {@link exitTrace}). */
export function enterTrace(carrier: TraceCarrier | undefined): TraceCarrier | undefined {
  const previous = current;
  current = carrier;
  return previous;
}

/** Leave the trace entered last, restoring `previous`. */
export function exitTrace(previous: TraceCarrier | undefined): void {
  current = previous;
}

/** Call `fn(...args)` with `carrier` as the current trace. */
export function runInTrace<A extends unknown[], R>(
  carrier: TraceCarrier,
  fn: (...args: A) => R,
  ...args: A
): R {
  const previous = enterTrace(carrier);
  try {
    return fn(...args);
  } finally {
    exitTrace(previous);
  }
}
