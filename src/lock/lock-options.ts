import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import type { AcquireOptions, TryAcquireOptions } from './types.js';

/** Durations above this do not fit a timer (setTimeout's limit, about 24.8 days). */
export const MAX_LOCK_MS = 2 ** 31 - 1;

export const DEFAULT_TTL_MS = 30_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_INTERVAL_MS = 1000;

/** Checked options of one acquire. */
export interface LockRequest {
  readonly resource: string;
  readonly ttl: number;
  readonly waitTimeout: number;
  readonly retryInterval: number;
  readonly autoExtend: boolean;
  /**
   * How long a waiter keeps its place in the line without trying again: it tries at least every
   * `retryInterval`, so twice that plus a second for a slow round trip. A waiter that died
   * leaves the line after it.
   */
  readonly lineMs: number;
}

/**
 * A duration option in ms: a finite number in `[min, MAX_LOCK_MS]`, fractions rounded up.
 * @throws ValidationError naming the option and what it got.
 */
export function duration(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_LOCK_MS) {
    const got = typeof value === 'number' ? String(value) : typeof value;
    throw new ValidationError(
      `Lock option "${name}" must be a number of ms from ${min} to ${MAX_LOCK_MS}, got ${got}.`,
      { details: { field: name } },
    );
  }
  return Math.ceil(value);
}

/** @throws ValidationError for a bad resource name or option. */
export function lockRequest(
  resource: unknown,
  options: AcquireOptions | TryAcquireOptions | undefined,
  waiting: boolean,
): LockRequest {
  assertName(resource, 'Lock resource');
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new ValidationError('Lock options must be an object.', { details: { resource } });
  }
  const o = (options ?? {}) as AcquireOptions;
  if (o.autoExtend !== undefined && typeof o.autoExtend !== 'boolean') {
    throw new ValidationError('Lock option "autoExtend" must be a boolean.', {
      details: { field: 'autoExtend' },
    });
  }
  const retryInterval = waiting
    ? duration(o.retryInterval, 'retryInterval', DEFAULT_RETRY_INTERVAL_MS, 1)
    : DEFAULT_RETRY_INTERVAL_MS;
  return {
    resource,
    ttl: duration(o.ttl, 'ttl', DEFAULT_TTL_MS, 1),
    waitTimeout: waiting ? duration(o.waitTimeout, 'waitTimeout', DEFAULT_WAIT_TIMEOUT_MS, 0) : 0,
    retryInterval,
    autoExtend: o.autoExtend ?? false,
    lineMs: waiting ? 2 * retryInterval + 1000 : 0,
  };
}
