import { isPlugboardError, ValidationError } from '../errors/errors.js';
import { numberOption, objectOption } from './check.js';
import type { RetryPolicyOptions } from './types.js';

export interface RetrySettings {
  readonly maxAttempts: number;
  readonly backoff: 'fixed' | 'exponential';
  readonly delay: number;
  readonly maxDelay: number;
  readonly jitter: 'full' | 'none';
  readonly retryOn: (error: unknown) => boolean;
  readonly budget: { readonly ratio: number; readonly minRetriesPerSecond: number } | false;
}

const DEFAULT_BUDGET = Object.freeze({ ratio: 0.2, minRetriesPerSecond: 10 });

/**
 * Never retried by default, retryable or not: `CircuitOpenError`, `BulkheadRejectedError` (the
 * retry would only queue up behind the same wall) and `ValidationError` (bad input stays bad).
 */
const NEVER = new Set(['PB_CIRCUIT_OPEN', 'PB_BULKHEAD_FULL', 'PB_VALIDATION']);

/**
 * The default classification: Plugboard errors marked `retryable` (timeouts, unavailable
 * services, backpressure...) except an open circuit and a full bulkhead; errors that are not
 * Plugboard errors (the callee's own) are retried.
 */
export function retryableByDefault(error: unknown): boolean {
  if (!isPlugboardError(error)) return true;
  return error.retryable && !NEVER.has(error.code);
}

/** Validate `options` (a `ValidationError` naming the field) and fill in the defaults. */
export function retrySettings(options: RetryPolicyOptions | undefined): RetrySettings {
  objectOption(options, 'retry options');
  const o = options ?? {};
  const backoff = o.backoff ?? 'exponential';
  if (backoff !== 'fixed' && backoff !== 'exponential') {
    throw new ValidationError(`backoff must be 'fixed' or 'exponential', got ${String(backoff)}.`, {
      details: { field: 'backoff' },
    });
  }
  const jitter = o.jitter ?? 'full';
  if (jitter !== 'full' && jitter !== 'none') {
    throw new ValidationError(`jitter must be 'full' or 'none', got ${String(jitter)}.`, {
      details: { field: 'jitter' },
    });
  }
  return Object.freeze({
    maxAttempts: numberOption(o.maxAttempts, 'maxAttempts', 3, 1, 1000, true),
    backoff,
    delay: numberOption(o.delay, 'delay', 100, 0, 2 ** 31 - 1),
    maxDelay: numberOption(o.maxDelay, 'maxDelay', 10_000, 0, 2 ** 31 - 1),
    jitter,
    retryOn: classifier(o.retryOn),
    budget: budgetSettings(o.budget),
  });
}

function classifier(retryOn: RetryPolicyOptions['retryOn']): (error: unknown) => boolean {
  if (retryOn === undefined) return retryableByDefault;
  if (typeof retryOn === 'function') return retryOn;
  if (!Array.isArray(retryOn) || retryOn.some((c) => typeof c !== 'function')) {
    throw new ValidationError('retryOn must be a predicate or an array of error classes.', {
      details: { field: 'retryOn' },
    });
  }
  type ErrorClass = abstract new (...args: never[]) => Error;
  const classes = [...(retryOn as readonly ErrorClass[])];
  return (error) => classes.some((errorClass) => error instanceof errorClass);
}

function budgetSettings(budget: RetryPolicyOptions['budget']): RetrySettings['budget'] {
  if (budget === false) return false;
  if (budget === undefined) return DEFAULT_BUDGET;
  objectOption(budget, 'budget');
  return Object.freeze({
    ratio: numberOption(budget.ratio, 'budget.ratio', DEFAULT_BUDGET.ratio, 0),
    minRetriesPerSecond: numberOption(
      budget.minRetriesPerSecond,
      'budget.minRetriesPerSecond',
      DEFAULT_BUDGET.minRetriesPerSecond,
      0,
    ),
  });
}
