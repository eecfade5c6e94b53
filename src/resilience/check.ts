import { ValidationError } from '../errors/errors.js';

/**
 * `value` (or `fallback` when undefined) if it is a number in [min, max] (an integer when
 * `integer`), else a `ValidationError` naming `field`.
 */
export function numberOption(
  value: unknown,
  field: string,
  fallback: number,
  min: number,
  max = Number.POSITIVE_INFINITY,
  integer = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    const kind = integer ? 'an integer' : 'a number';
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new ValidationError(
      `${field} must be ${kind} ${range}, got ${JSON.stringify(value) ?? typeof value}.`,
      {
        details: { field, value },
      },
    );
  }
  return value;
}

/** Throw a `ValidationError` unless `value` is undefined or a function. */
export function functionOption(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new ValidationError(`${field} must be a function, got ${typeof value}.`, {
      details: { field },
    });
  }
}

/** Throw a `ValidationError` unless `value` is undefined or a plain object. */
export function objectOption(value: unknown, field: string): void {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw new ValidationError(`${field} must be an object.`, { details: { field } });
  }
}
