import { ValidationError } from '../../errors/errors.js';
import type { ClaimOptions, EnqueueOptions } from '../ports.js';

/** Bounds of {@link EnqueueOptions} (see ports.ts). */
export const PRIORITY_BOUND = 1_000_000;
export const MAX_DEDUP_MS = 30 * 24 * 3_600_000;

/** Enqueue options as the enqueue script takes them (ARGV[3..7]). */
export interface EnqueueArgs {
  readonly delayMs: number;
  readonly notBefore: number;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly dedupMs: number;
  readonly dedupKey: string | undefined;
}

const PLAIN: EnqueueArgs = {
  delayMs: 0,
  notBefore: 0,
  priority: 0,
  maxAttempts: 0,
  dedupMs: 0,
  dedupKey: undefined,
};

function invalid(queue: string, field: string, message: string): ValidationError {
  return new ValidationError(message, { details: { queue, field } });
}

function isTime(value: number): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * Check `options` and turn them into script arguments (times rounded up to whole ms).
 * @throws ValidationError naming the bad field.
 */
export function enqueueArgs(queue: string, options: EnqueueOptions | undefined): EnqueueArgs {
  if (options === undefined) return PLAIN;
  const { delayMs = 0, notBefore = 0, priority = 0, maxAttempts = 0, dedupKey, dedupMs } = options;
  if (!isTime(delayMs)) throw invalid(queue, 'delayMs', 'delayMs must be a finite number >= 0.');
  if (!isTime(notBefore))
    throw invalid(queue, 'notBefore', 'notBefore must be an epoch time in ms (>= 0).');
  if (!Number.isInteger(priority) || Math.abs(priority) > PRIORITY_BOUND)
    throw invalid(
      queue,
      'priority',
      `priority must be an integer in [-${PRIORITY_BOUND}, ${PRIORITY_BOUND}].`,
    );
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0)
    throw invalid(queue, 'maxAttempts', 'maxAttempts must be an integer >= 0 (0: no limit).');
  let dedupWindow = 0;
  if (dedupKey !== undefined) {
    if (typeof dedupKey !== 'string' || dedupKey === '')
      throw invalid(queue, 'dedupKey', 'dedupKey must be a non-empty string.');
    if (typeof dedupMs !== 'number' || !(dedupMs >= 1 && dedupMs <= MAX_DEDUP_MS))
      throw invalid(queue, 'dedupMs', `dedupKey needs dedupMs in [1, ${MAX_DEDUP_MS}] ms.`);
    dedupWindow = Math.ceil(dedupMs);
  } else if (dedupMs !== undefined) {
    throw invalid(queue, 'dedupMs', 'dedupMs only applies with a dedupKey.');
  }
  return {
    delayMs: Math.ceil(delayMs),
    notBefore: Math.ceil(notBefore),
    priority,
    maxAttempts,
    dedupMs: dedupWindow,
    dedupKey,
  };
}

/**
 * Check claim options.
 * @throws ValidationError naming the bad field.
 */
export function checkClaimOptions(queue: string, consumer: string, options: ClaimOptions): void {
  if (!(options.count >= 1) || !(options.leaseMs >= 1)) {
    throw new ValidationError('claim needs count >= 1 and leaseMs >= 1.', {
      details: { queue, consumer, field: options.count >= 1 ? 'leaseMs' : 'count' },
    });
  }
  const limit = options.rateLimit;
  if (
    limit !== undefined &&
    !(
      Number.isInteger(limit.max) &&
      limit.max >= 1 &&
      isTime(limit.intervalMs) &&
      limit.intervalMs >= 1
    )
  ) {
    throw invalid(queue, 'rateLimit', 'rateLimit needs an integer max >= 1 and intervalMs >= 1.');
  }
}
