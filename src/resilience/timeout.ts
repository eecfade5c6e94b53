import { TimeoutError } from '../errors/errors.js';
import { sharedDeadlines, type Deadlines } from '../util/deadlines.js';
import { invoke, type Step } from './call-context.js';
import type { CallContext, Guarded } from './types.js';

/**
 * Bound each attempt by `ms`: past it the call rejects with `TimeoutError` and the callee's
 * `signal` aborts with that error (it should stop its work; the policy does not wait for it).
 * The callee's signal also aborts when the outer one does (the plugin stops). Deadlines share
 * one ticking timer, so a timeout fires up to 10 ms late, never early.
 */
export class TimeoutPolicy implements Step {
  constructor(
    readonly ms: number,
    private readonly deadlines: Deadlines = sharedDeadlines,
  ) {}

  run<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      const outer = call.signal;
      const onOuterAbort = (): void => controller.abort(outer.reason);
      if (outer.aborted) onOuterAbort();
      else outer.addEventListener('abort', onOuterAbort, { once: true });
      const entry = this.deadlines.add(this.ms, () => {
        outer.removeEventListener('abort', onOuterAbort);
        const error = new TimeoutError(
          `The call did not finish within its ${this.ms} ms timeout (attempt ${call.attempt}).`,
          { details: { timeoutMs: this.ms, attempt: call.attempt } },
        );
        controller.abort(error);
        reject(error);
      });
      invoke(fn, { signal: controller.signal, attempt: call.attempt }).then(
        (value) => {
          if (!entry.cancel()) return;
          outer.removeEventListener('abort', onOuterAbort);
          resolve(value);
        },
        (error: unknown) => {
          if (!entry.cancel()) return;
          outer.removeEventListener('abort', onOuterAbort);
          reject(error);
        },
      );
    });
  }
}
