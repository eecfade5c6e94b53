import { ValidationError } from '../errors/errors.js';
import type { FeedRetention } from '../backends/ports.js';
import { DEFAULT_RETENTION } from '../sync/data-sync.js';
import type { CacheOptions } from '../cache/types.js';
import type { TransactionOptions } from '../tx/types.js';
import type { HostOptions } from './types.js';

/**
 * Check `strictPermissions`: a boolean (or absent, meaning false).
 * @throws ValidationError for anything else
 */
export function assertPermissionMode(value: unknown): asserts value is boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return;
  throw new ValidationError(
    `Host option "strictPermissions" must be true or false, got ${JSON.stringify(value) ?? typeof value}.`,
    { details: { field: 'strictPermissions' } },
  );
}

export { assertKeys, encryptionSettings } from '../security/crypto/key-config.js';

/**
 * Check the `dataSync` host option (change-feed retention) and fill in the defaults.
 * @throws ValidationError naming the field for anything but positive integers.
 */
export function dataSyncRetention(option: HostOptions['dataSync']): FeedRetention {
  if (option === undefined) return DEFAULT_RETENTION;
  if (typeof option !== 'object' || option === null) {
    throw new ValidationError(
      'Host option "dataSync" must be an object { maxChanges, maxAgeMs }.',
      {
        details: { field: 'dataSync' },
      },
    );
  }
  const retention = { ...DEFAULT_RETENTION };
  for (const field of ['maxChanges', 'maxAgeMs'] as const) {
    const value = option[field];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ValidationError(
        `Host option "dataSync.${field}" must be a positive integer, got ${String(value)}.`,
        { details: { field: `dataSync.${field}` } },
      );
    }
    retention[field] = value;
  }
  return retention;
}

/**
 * Check `cache`: an object whose `maxValueBytes`, when given, is a whole number of bytes, 1 or more.
 * @throws ValidationError naming the field
 */
export function assertCacheOptions(cache: unknown): asserts cache is CacheOptions | undefined {
  if (cache === undefined) return;
  if (typeof cache !== 'object' || cache === null || Array.isArray(cache))
    throw new ValidationError(
      'Host option "cache" must be an object such as { maxValueBytes: 65536 }.',
      {
        details: { field: 'cache' },
      },
    );
  const max = (cache as CacheOptions).maxValueBytes;
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 1))
    throw new ValidationError(
      `Host option "cache.maxValueBytes" must be a whole number of bytes, 1 or more, got ${String(max)}.`,
      { details: { field: 'cache.maxValueBytes' } },
    );
}

/** Whole-number fields of `transactions` (each 1 or more). */
const TRANSACTION_MS_FIELDS = [
  'prepareTimeout',
  'leaseMs',
  'recoveryInterval',
  'retentionMs',
  'maxOpen',
] as const;
/** Longest a Node timer holds (about 24.8 days); past it, a timer fires at once, over and over. */
const MAX_TRANSACTION_MS = 2 ** 31 - 1;

/**
 * Check `transactions`: positive whole numbers for its timings and `maxOpen`, and `logFile` a
 * non-empty path or `false`.
 * @throws ValidationError naming the field (`details.field`)
 */
export function assertTransactionOptions(
  options: unknown,
): asserts options is TransactionOptions | undefined {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValidationError(
      'Host option "transactions" must be an object such as { prepareTimeout: 5000, logFile: false }.',
      { details: { field: 'transactions' } },
    );
  }
  const given = options as Record<string, unknown>;
  for (const field of TRANSACTION_MS_FIELDS) {
    const value = given[field];
    const max = field === 'maxOpen' ? Number.MAX_SAFE_INTEGER : MAX_TRANSACTION_MS;
    if (
      value !== undefined &&
      !(Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= max)
    ) {
      throw new ValidationError(
        `Host option "transactions.${field}" must be a whole number from 1 to ${max}, got ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? typeof value)}.`,
        { details: { field: `transactions.${field}` } },
      );
    }
  }
  const { logFile } = given;
  if (
    logFile !== undefined &&
    logFile !== false &&
    !(typeof logFile === 'string' && logFile !== '')
  ) {
    throw new ValidationError(
      `Host option "transactions.logFile" must be a file path or false (kept in memory), got ${JSON.stringify(logFile)}.`,
      { details: { field: 'transactions.logFile' } },
    );
  }
}
