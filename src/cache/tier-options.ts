import { ValidationError } from '../errors/errors.js';

/** Longest cache key, bytes (the shared tier's bound: local keys name shared keys). */
const MAX_KEY_BYTES = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Largest local tier. */
const MAX_ENTRIES = 10_000_000;

/** @throws ValidationError unless `key` is a 1..1024-byte string without control characters. */
export function checkTierKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES || CONTROL.test(key))
    throw new ValidationError(
      `Cache key must be a string of 1 to ${MAX_KEY_BYTES} bytes without control characters.`,
      { details: { field: 'key' } },
    );
}

/**
 * A TTL in seconds (positive, finite, fractions allowed) as whole milliseconds; `undefined`
 * stays `undefined` (no expiry).
 * @throws ValidationError for NaN, zero, negative or infinite values.
 */
export function ttlToMs(ttl: unknown, field: string): number | undefined {
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)
    throw new ValidationError(`${field} must be a positive, finite number of seconds.`, {
      details: { field },
    });
  return Math.max(1, Math.ceil(ttl * 1000));
}

/** @throws ValidationError unless `value` is a whole number from 1 to 10,000,000. */
export function checkMaxEntries(value: unknown): number {
  if (value === undefined) return 1000;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_ENTRIES)
    throw new ValidationError(`maxEntries must be a whole number from 1 to ${MAX_ENTRIES}.`, {
      details: { field: 'maxEntries' },
    });
  return value;
}
