import { ValidationError } from '../errors/errors.js';
import type { ClaimOptions, EnqueueOptions, QueueRateLimit } from './ports.js';

/** Bounds of {@link EnqueueOptions}, the same for every backend. */
export const QUEUE_PRIORITY_MAX = 1_000_000;
export const QUEUE_DEDUP_MAX_MS = 30 * 86_400_000;

/**
 * Check enqueue options before anything is stored, so every backend refuses the same inputs
 * with the same error (a NaN would otherwise turn into "never due" or "due at once" depending on
 * the backend's arithmetic).
 */
export function validateEnqueueOptions(options: EnqueueOptions | undefined): void {
  if (options === undefined) return;
  const { delayMs, notBefore, priority, dedupKey, dedupMs, maxAttempts } = options;
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0))
    refuse('delayMs', delayMs, 'a finite number of ms, 0 or more');
  if (notBefore !== undefined && !Number.isFinite(notBefore))
    refuse('notBefore', notBefore, 'a finite epoch time in ms');
  if (
    priority !== undefined &&
    !(Number.isInteger(priority) && Math.abs(priority) <= QUEUE_PRIORITY_MAX)
  )
    refuse('priority', priority, `an integer from -${QUEUE_PRIORITY_MAX} to ${QUEUE_PRIORITY_MAX}`);
  if (dedupKey !== undefined) {
    if (typeof dedupKey !== 'string' || dedupKey.length === 0)
      refuse('dedupKey', dedupKey, 'a non-empty string');
    if (dedupMs === undefined || !(Number.isFinite(dedupMs) && dedupMs > 0))
      refuse('dedupMs', dedupMs, 'a number of ms above 0, given with dedupKey');
    if (dedupMs > QUEUE_DEDUP_MAX_MS)
      refuse('dedupMs', dedupMs, `at most ${QUEUE_DEDUP_MAX_MS} ms (30 days)`);
  }
  if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 0))
    refuse('maxAttempts', maxAttempts, 'an integer, 0 (no limit) or more');
}

/** Check a claim's rate limit: a whole number of claims above 0 per a window above 0 ms. */
export function validateRateLimit(limit: QueueRateLimit | undefined): void {
  if (limit === undefined) return;
  if (!(Number.isInteger(limit.max) && limit.max >= 1))
    refuse('rateLimit.max', limit.max, 'an integer, 1 or more');
  if (!(Number.isFinite(limit.intervalMs) && limit.intervalMs > 0))
    refuse('rateLimit.intervalMs', limit.intervalMs, 'a finite number of ms above 0');
}

/** Check claim options: at least one message, a lease of at least 1 ms, a wait of 0 or more. */
export function validateClaimOptions(options: ClaimOptions): void {
  if (!(Number.isInteger(options.count) && options.count >= 1))
    refuse('count', options.count, 'an integer, 1 or more');
  validateLeaseMs(options.leaseMs);
  if (!(options.waitMs >= 0)) refuse('waitMs', options.waitMs, 'a number of ms, 0 or more');
  validateRateLimit(options.rateLimit);
}

/** Check a lease length (claim, extend): a finite number of ms, at least 1. */
export function validateLeaseMs(leaseMs: number): void {
  if (!(Number.isFinite(leaseMs) && leaseMs >= 1))
    refuse('leaseMs', leaseMs, 'a finite number of ms, 1 or more');
}

/** Check a release's delay: a finite number of ms, 0 or more. */
export function validateDelayMs(delayMs: number): void {
  if (!(Number.isFinite(delayMs) && delayMs >= 0))
    refuse('delayMs', delayMs, 'a finite number of ms, 0 or more');
}

function refuse(option: string, value: unknown, expected: string): never {
  throw new ValidationError(`Queue option ${option} must be ${expected}, got ${String(value)}.`, {
    details: { option, value },
  });
}
