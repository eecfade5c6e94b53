import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The trace of the work running right now. Two modes, process-wide:
 *
 * - Plain (default): a variable set synchronously by whoever calls plugin code (event bus,
 *   chain, queue consumers, RPC responder) for the duration of the call, so what the code starts
 *   before its first `await` (a publish, a send, a call, a log line, a reported failure) keeps
 *   the trace. After an `await` it is gone: pass `meta.traceId` / `message.traceId` explicitly.
 * - Async (once {@link useAsyncTrace} ran: a host created with tracing on): an
 *   `AsyncLocalStorage`, so the trace also survives `await`s. On Node 20 that puts promise hooks
 *   on every promise of the process (measured in docs/decisions.md), hence opt-in.
 */

/** Anything that knows its trace id (an event's meta, a queue message); read only when needed. */
export interface TraceCarrier {
  readonly traceId: string;
  /** The span the work runs in (W3C span id, 16 hex digits), when spans are recorded. */
  readonly spanId?: string | undefined;
}

let current: TraceCarrier | undefined;
let storage: AsyncLocalStorage<TraceCarrier | undefined> | undefined;

/** Switch this process to the async mode (idempotent; there is no way back). */
export function useAsyncTrace(): void {
  storage ??= new AsyncLocalStorage();
}

/** Is the async mode on? */
export function asyncTraceOn(): boolean {
  return storage !== undefined;
}

/** The running work's trace, if any. */
export function currentTrace(): TraceCarrier | undefined {
  return storage === undefined ? current : storage.getStore();
}

/** The running work's trace id, if any. */
export function currentTraceId(): string | undefined {
  return (storage === undefined ? current : storage.getStore())?.traceId;
}

/** The trace of an explicitly given id: the running work's when it is the same trace. */
export function explicitTrace(traceId: string): TraceCarrier {
  const running = currentTrace();
  return running?.traceId === traceId ? running : { traceId };
}

/** Enter `carrier` (returns the previous one, for {@link exitTrace}). */
export function enterTrace(carrier: TraceCarrier | undefined): TraceCarrier | undefined {
  if (storage !== undefined) {
    const previous = storage.getStore();
    // Promises created until exitTrace copy the store: the work keeps it across its awaits.
    storage.enterWith(carrier);
    return previous;
  }
  const previous = current;
  current = carrier;
  return previous;
}

/** Leave the trace entered last, restoring `previous`. */
export function exitTrace(previous: TraceCarrier | undefined): void {
  if (storage !== undefined) storage.enterWith(previous);
  else current = previous;
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
