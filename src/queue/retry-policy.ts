/**
 * When a failed message is delivered again, as a pure function of its policy and its attempt, so
 * work queues and durable event subscriptions retry the same way and tests need no clock.
 */
import { ValidationError } from '../errors/errors.js';

/** How a failed message is retried (the resolved form of `RetryOptions`). */
export interface RetryPolicy {
  /** Retries after the first delivery; 0: a failure dead-letters at once. */
  readonly maxRetries: number;
  readonly backoff: 'fixed' | 'exponential';
  /** ms before the first retry (and every retry, when fixed). */
  readonly delay: number;
  /** Upper bound of one delay, ms (before jitter). */
  readonly maxDelay: number;
  /** "Equal jitter": the delay is drawn from [delay/2, delay·3/2). */
  readonly jitter: boolean;
}

/** No retries: the first failure dead-letters the message (a plain `send`). */
export const NO_RETRY: RetryPolicy = Object.freeze({
  maxRetries: 0,
  backoff: 'fixed',
  delay: 0,
  maxDelay: 0,
  jitter: false,
});

/** Largest delay or maxDelay accepted, ms (30 days, the longest a queue store remembers). */
export const MAX_RETRY_DELAY_MS = 30 * 24 * 3_600_000;
/** Most retries accepted. */
const MAX_RETRIES = 1_000;

/**
 * The delay before redelivering a message whose delivery number `attempt` (1-based) just failed,
 * or `undefined` when it has used up its retries and goes to the dead letters. `random` returns a
 * number in [0, 1) (Math.random in production, fixed in tests).
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number | undefined {
  if (attempt > policy.maxRetries) return undefined;
  const base =
    policy.backoff === 'fixed' ? policy.delay : policy.delay * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(base, policy.maxDelay);
  if (!policy.jitter || capped === 0) return Math.round(capped);
  return Math.round(capped / 2 + random() * capped);
}

/** A {@link RetryPolicy} from user options, or a ValidationError naming the bad field. */
export function toRetryPolicy(options: unknown): RetryPolicy {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(
      'Retry options must be an object like { maxRetries, backoff, delay }.',
    );
  }
  const o = options as Record<string, unknown>;
  const maxRetries = integerIn(o['maxRetries'], 'maxRetries', 0, MAX_RETRIES);
  const backoff = o['backoff'];
  if (backoff !== 'fixed' && backoff !== 'exponential') {
    throw new ValidationError(`Retry option "backoff" must be 'fixed' or 'exponential'.`, {
      details: { field: 'backoff', value: backoff },
    });
  }
  const delay = integerIn(o['delay'], 'delay', 0, MAX_RETRY_DELAY_MS);
  const maxDelay =
    o['maxDelay'] === undefined
      ? MAX_RETRY_DELAY_MS
      : integerIn(o['maxDelay'], 'maxDelay', 0, MAX_RETRY_DELAY_MS);
  const jitter = o['jitter'] ?? true;
  if (typeof jitter !== 'boolean') {
    throw new ValidationError('Retry option "jitter" must be a boolean.', {
      details: { field: 'jitter', value: jitter },
    });
  }
  return { maxRetries, backoff, delay, maxDelay, jitter };
}

/** `value` as an integer in [min, max], or a ValidationError naming `field`. */
export function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`"${field}" must be an integer from ${min} to ${max}.`, {
      details: { field, value: typeof value === 'number' ? value : typeof value },
    });
  }
  return value;
}
