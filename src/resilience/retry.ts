import { sleep as realSleep } from '../util/sleep.js';
import type { Clock, Step } from './call-context.js';
import { coarseClock } from './coarse-clock.js';
import { RetryBudget } from './retry-budget.js';
import type { RetrySettings } from './retry-options.js';
import type { CallContext, Guarded } from './types.js';

/** What a retry policy uses besides its settings; tests give fakes. */
export interface RetryDeps {
  clock: Clock;
  /** In [0, 1). */
  random: () => number;
  /** Wait `ms`, or less when `signal` aborts; never rejects. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const REAL_RETRY_DEPS: RetryDeps = {
  clock: coarseClock,
  random: Math.random,
  sleep: realSleep,
};

/** The backoff before retry number `retry` (1 = the first retry), before jitter. */
export function backoffDelay(settings: RetrySettings, retry: number): number {
  const base =
    settings.backoff === 'fixed' ? settings.delay : settings.delay * 2 ** Math.min(retry - 1, 52);
  return Math.min(settings.maxDelay, base);
}

/**
 * Run a call up to `maxAttempts` times, while its errors are retryable, the retry budget lasts
 * and the call's signal (the plugin's stop, an outer timeout) has not aborted. The error of the
 * last attempt is what the caller sees.
 */
export class RetryPolicy implements Step {
  private readonly budget: RetryBudget | undefined;

  constructor(
    private readonly settings: RetrySettings,
    private readonly deps: RetryDeps = REAL_RETRY_DEPS,
  ) {
    const budget = settings.budget;
    this.budget =
      budget === false
        ? undefined
        : new RetryBudget(budget.ratio, budget.minRetriesPerSecond, deps.clock);
  }

  async run<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
    this.budget?.call();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt === call.attempt ? call : { signal: call.signal, attempt });
      } catch (error) {
        if (!this.retries(error, attempt, call.signal)) throw error;
        const delay = backoffDelay(this.settings, attempt);
        const jittered = this.settings.jitter === 'full' ? this.deps.random() * delay : delay;
        await this.deps.sleep(jittered, call.signal);
        if (call.signal.aborted) throw error;
      }
    }
  }

  private retries(error: unknown, attempt: number, signal: AbortSignal): boolean {
    return (
      attempt < this.settings.maxAttempts &&
      !signal.aborted &&
      this.retryable(error) &&
      (this.budget === undefined || this.budget.tryRetry())
    );
  }

  /** A classifier that throws cannot vouch for a retry, and must not hide the call's error. */
  private retryable(error: unknown): boolean {
    try {
      return this.settings.retryOn(error);
    } catch {
      return false;
    }
  }
}
