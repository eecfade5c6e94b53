import { sharedDeadlines, type Deadlines } from './deadlines.js';

/** How a bounded call ended (see {@link settleWithin}). */
export type BoundedOutcome<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'failed'; readonly error: unknown }
  | { readonly status: 'timeout' };

/**
 * Bound a promise (or a function returning one) by `timeoutMs`: the result settles like the work
 * does, or rejects with `onTimeout()` once the bound passes first. The work itself keeps running
 * (the caller decides what to abandon). Never throws synchronously: a sync throw of `work` is a
 * rejection. The deadline lives in `scheduler` (one ticking timer for all bounds; fires at most
 * one tick late, never early) and is cancelled as soon as the work settles. `Infinity` means no
 * bound; zero, a negative number or NaN means the bound has passed (it fires on the next tick).
 */
export function withDeadline<T>(
  work: PromiseLike<T> | (() => T | PromiseLike<T>),
  timeoutMs: number,
  onTimeout: () => unknown,
  scheduler: Deadlines = sharedDeadlines,
): Promise<T> {
  let started: PromiseLike<T> | T;
  try {
    started = typeof work === 'function' ? work() : work;
  } catch (error) {
    return Promise.reject(error);
  }
  const promise = Promise.resolve(started);
  if (timeoutMs === Infinity) return promise;
  return new Promise<T>((resolve, reject) => {
    // NaN or a negative bound has passed already (a NaN deadline would never fire).
    const ms = timeoutMs > 0 ? timeoutMs : 0;
    const entry = scheduler.add(ms, () => reject(onTimeout()));
    promise.then(
      (value) => {
        if (entry.cancel()) resolve(value);
      },
      (error: unknown) => {
        if (entry.cancel()) reject(error);
      },
    );
  });
}

const TIMED_OUT = Symbol('timed out');

/**
 * {@link withDeadline} as an outcome that never rejects: `ok` with the value, `failed` with the
 * error (thrown or rejected), or `timeout` when the bound passed first.
 */
export function settleWithin<T>(
  work: PromiseLike<T> | (() => T | PromiseLike<T>),
  timeoutMs: number,
  scheduler?: Deadlines,
): Promise<BoundedOutcome<Awaited<T>>> {
  return withDeadline(work, timeoutMs, () => TIMED_OUT, scheduler).then(
    (value) => ({ status: 'ok', value: value as Awaited<T> }),
    (error: unknown) => (error === TIMED_OUT ? { status: 'timeout' } : { status: 'failed', error }),
  );
}
