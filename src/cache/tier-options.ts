import { ValidationError } from '../errors/errors.js';
import { ttlMs } from './cache-input.js';

/** Largest local tier. */
const MAX_ENTRIES = 10_000_000;

/** An optional TTL in seconds as ms (`undefined`: none). @throws ValidationError naming `field` */
export function optionalSeconds(ttl: unknown, field: string): number | undefined {
  return ttl === undefined ? undefined : ttlMs(ttl, field);
}

/** @throws ValidationError unless `value` is a whole number from 1 to 10,000,000 (default 1000). */
export function checkMaxEntries(value: unknown): number {
  if (value === undefined) return 1000;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_ENTRIES)
    throw new ValidationError(`maxEntries must be a whole number from 1 to ${MAX_ENTRIES}.`, {
      details: { field: 'maxEntries' },
    });
  return value;
}
