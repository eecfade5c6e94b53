import { isPlugboardError } from '../errors/errors.js';

/**
 * Which failed calls a configured retry (`resilience.services`) may repeat: the same rule as the
 * caller's own failover. A call that never reached a method (no provider, backpressure, an open
 * circuit) may always go again; one that may have run it only when the method is idempotent.
 */

/** Errors of calls to an idempotent method, marked as they pass (weak: nothing to drain). */
const repeatable = new WeakSet<object>();

/** Note that `error` came from a call to an idempotent method (any attempt may run again). */
export function markRepeatable(error: unknown): void {
  if (typeof error === 'object' && error !== null) repeatable.add(error);
}

/** May a call that failed with `error` be made again without risking a second run? */
export function mayRepeat(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (repeatable.has(error)) return true;
  if (!isPlugboardError(error)) return false;
  switch (error.code) {
    case 'PB_BACKPRESSURE':
    case 'PB_CIRCUIT_OPEN':
      return true;
    case 'PB_SERVICE_UNAVAILABLE':
      return error.details['mayHaveRun'] !== true;
    default:
      return false;
  }
}

/** Call `then(reason)` once `signal` aborts (at once if it has). */
export function whenAborted(signal: AbortSignal, then: (reason: unknown) => void): void {
  if (signal.aborted) then(signal.reason);
  else signal.addEventListener('abort', () => then(signal.reason), { once: true });
}
