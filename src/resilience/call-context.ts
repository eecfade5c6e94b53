import type { CallContext, Guarded } from './types.js';

/** Anything that reads the time: `Date` by default, a fake clock in tests. */
export interface Clock {
  now(): number;
}

/** A signal that never aborts: the root of calls made outside any plugin. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** The first attempt of a call nobody can cancel. */
export const ROOT_CALL: CallContext = Object.freeze({ signal: NEVER_ABORTED, attempt: 1 });

/** The first attempt of a call cancelled by `signal` (a plugin's stop). */
export function rootCall(signal: AbortSignal | undefined): CallContext {
  return signal === undefined ? ROOT_CALL : Object.freeze({ signal, attempt: 1 });
}

/**
 * One layer of a composed policy: runs `fn` for the attempt described by `call` (the layers
 * outside it decide the signal and the attempt number).
 */
export interface Step {
  run<T>(fn: Guarded<T>, call: CallContext): Promise<T>;
}

/** `fn(call)` as a promise: a synchronous throw becomes a rejection. */
export function invoke<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
  try {
    return Promise.resolve(fn(call));
  } catch (error) {
    return Promise.reject(error);
  }
}
