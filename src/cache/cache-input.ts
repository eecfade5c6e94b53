import { MAX_CACHE_TTL_MS } from '../backends/cache-ttl.js';
import type { Codec } from '../codec/codec.js';
import { PayloadTooLargeError, ValidationError } from '../errors/errors.js';
import type { CacheSetOptions } from './types.js';

/** Longest key, bytes (UTF-8). */
export const MAX_KEY_BYTES = 1024;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A lone surrogate (with `u`, a well-formed pair is one code point and does not match). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Check a cache key: a string of 1 to {@link MAX_KEY_BYTES} UTF-8 bytes without control
 * characters (they would garble logs and `redis-cli` output, and a newline splits protocols)
 * or lone surrogates.
 * @throws ValidationError
 */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0)
    throw new ValidationError(`A cache key must be a non-empty string, got ${describe(key)}.`, {
      details: { field: 'key' },
    });
  // UTF-8 takes at most 3 bytes per UTF-16 unit: short keys skip the byte count.
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new ValidationError(`A cache key must be at most ${MAX_KEY_BYTES} bytes (UTF-8).`, {
      details: { field: 'key', size: Buffer.byteLength(key) },
    });
  if (CONTROL.test(key))
    throw new ValidationError(`Cache key ${JSON.stringify(key)} holds a control character.`, {
      details: { field: 'key' },
    });
  // UTF-8 writes every lone surrogate as U+FFFD: two keys would share one Redis name, and its
  // invalidations would name neither of them.
  if (LONE_SURROGATE.test(key))
    throw new ValidationError(`Cache key ${JSON.stringify(key)} holds a lone surrogate.`, {
      details: { field: 'key' },
    });
}

/**
 * A TTL in seconds (positive, finite, fractions allowed) as whole ms, at least 1.
 * @throws ValidationError naming `field`
 */
export function ttlMs(ttl: unknown, field = 'ttl'): number {
  if (typeof ttl === 'number' && ttl > 0 && ttl * 1000 <= MAX_CACHE_TTL_MS)
    return Math.max(1, Math.round(ttl * 1000));
  throw new ValidationError(
    `Cache ${field} must be a number of seconds above 0 (fractions allowed), got ${describe(ttl)}.`,
    { details: { field } },
  );
}

/** The optional TTL of a write, as ms (undefined: no expiry). */
export function optionalTtlMs(options: CacheSetOptions | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null)
    throw new ValidationError('Cache options must be an object such as { ttl: 60 }.', {
      details: { field: 'options' },
    });
  return options.ttl === undefined ? undefined : ttlMs(options.ttl);
}

/**
 * Encode a value for the shared tier.
 * @throws ValidationError for `undefined` (a miss reads as `undefined`, so it cannot be stored)
 * @throws SerializationError for what the codec cannot carry (functions, symbols, cycles)
 * @throws PayloadTooLargeError past `maxBytes`
 */
export function encodeValue(
  codec: Codec,
  key: string,
  value: unknown,
  maxBytes: number,
): Uint8Array {
  if (value === undefined)
    throw new ValidationError(
      `Cannot cache undefined under "${key}": a miss reads as undefined. Store null, or delete the key.`,
      { details: { field: 'value', key } },
    );
  const bytes = codec.encode(value, 'value');
  if (bytes.byteLength > maxBytes)
    throw new PayloadTooLargeError(
      `Cache value for "${key}" is ${bytes.byteLength} bytes encoded, over the limit of ${maxBytes}; store less, or raise createHost({ cache: { maxValueBytes } }).`,
      { details: { key, size: bytes.byteLength, limit: maxBytes } },
    );
  return bytes;
}

/** `maxAttempts` of `update`: an integer from 1 to 1000. */
export function attempts(value: unknown): number {
  if (value === undefined) return 10;
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 1000)
    return value as number;
  throw new ValidationError(
    `Cache update option "maxAttempts" must be an integer from 1 to 1000, got ${describe(value)}.`,
    { details: { field: 'maxAttempts' } },
  );
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
