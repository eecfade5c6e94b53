import { ValidationError } from '../errors/errors.js';

/**
 * Longest cache TTL, ms (about 4,460 years): far below what overflows Redis's expiry arithmetic
 * (`now + PX` in a signed 64-bit count of ms) or a double's exact integers.
 */
export const MAX_CACHE_TTL_MS = 2 ** 47;

/**
 * Check a TTL given to a cache store (ms): an integer from 1 to {@link MAX_CACHE_TTL_MS}, so
 * every backend refuses the same inputs (a NaN would be "no expiry" on one, "expired" on the other).
 * @throws ValidationError naming `field`.
 */
export function validateCacheTtlMs(ttlMs: number, field = 'ttlMs'): void {
  if (Number.isInteger(ttlMs) && ttlMs >= 1 && ttlMs <= MAX_CACHE_TTL_MS) return;
  throw new ValidationError(
    `Cache ${field} must be an integer number of ms from 1 to ${MAX_CACHE_TTL_MS}, got ${String(ttlMs)}.`,
    { details: { field } },
  );
}
