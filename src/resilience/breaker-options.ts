import { ValidationError } from '../errors/errors.js';
import { functionOption, numberOption, objectOption } from './check.js';
import type { CircuitBreakerOptions } from './types.js';

/** A breaker's options with every default filled in. */
export interface BreakerSettings {
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly timeout: number;
  readonly windowMs: number;
  readonly minimumCalls: number;
  readonly halfOpenProbes: number;
  readonly isFailure: ((error: unknown) => boolean) | undefined;
}

export const BREAKER_DEFAULTS: Omit<BreakerSettings, 'isFailure'> = Object.freeze({
  failureThreshold: 50,
  successThreshold: 1,
  timeout: 30_000,
  windowMs: 10_000,
  minimumCalls: 10,
  halfOpenProbes: 1,
});

/** The numeric settings two `create` calls of one name must agree on. */
const COMPARED = Object.keys(BREAKER_DEFAULTS) as (keyof typeof BREAKER_DEFAULTS)[];

/** Validate `options` (a `ValidationError` naming the field) and fill in the defaults. */
export function breakerSettings(options: CircuitBreakerOptions | undefined): BreakerSettings {
  objectOption(options, 'circuit breaker options');
  const o = options ?? {};
  functionOption(o.isFailure, 'isFailure');
  return Object.freeze({
    failureThreshold: numberOption(o.failureThreshold, 'failureThreshold', 50, 0, 100),
    successThreshold: numberOption(o.successThreshold, 'successThreshold', 1, 1, 1e9, true),
    timeout: numberOption(o.timeout, 'timeout', 30_000, 0, 2 ** 31 - 1),
    windowMs: numberOption(o.windowMs, 'windowMs', 10_000, 1, 2 ** 31 - 1),
    minimumCalls: numberOption(o.minimumCalls, 'minimumCalls', 10, 1, 1e9, true),
    halfOpenProbes: numberOption(o.halfOpenProbes, 'halfOpenProbes', 1, 1, 1e6, true),
    isFailure: o.isFailure,
  });
}

/**
 * Throw a `ValidationError` when `wanted` differs from the settings of the existing breaker
 * `name` (functions are not compared: the first `isFailure` given stays).
 */
export function assertSameSettings(
  name: string,
  existing: BreakerSettings,
  wanted: BreakerSettings,
): void {
  const differ = COMPARED.filter((key) => existing[key] !== wanted[key]);
  if (differ.length === 0) return;
  const what = differ.map((key) => `${key} ${wanted[key]} (it has ${existing[key]})`).join(', ');
  throw new ValidationError(
    `Circuit breaker "${name}" already exists on this node with other options: ${what}. ` +
      `One breaker per name per node; use the same options, or another name.`,
    {
      details: {
        name,
        fields: differ,
        existing: Object.fromEntries(differ.map((key) => [key, existing[key]])),
      },
    },
  );
}
