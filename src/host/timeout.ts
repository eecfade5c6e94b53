/** How a bounded call ended. */
export type BoundedOutcome<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'failed'; readonly error: unknown }
  | { readonly status: 'timeout' };

/**
 * Run `fn` (sync or async) and settle by `timeoutMs` at the latest. Never rejects: a throw or a
 * rejection is `failed`, the bound passing first is `timeout` (the call itself keeps running;
 * the caller decides what to abandon). The timer is cleared as soon as the call settles.
 */
export function runBounded<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
): Promise<BoundedOutcome<Awaited<T>>> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: BoundedOutcome<Awaited<T>>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ status: 'timeout' }), Math.max(0, timeoutMs));
    try {
      Promise.resolve(fn()).then(
        (value) => finish({ status: 'ok', value }),
        (error: unknown) => finish({ status: 'failed', error }),
      );
    } catch (error) {
      finish({ status: 'failed', error });
    }
  });
}
