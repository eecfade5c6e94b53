import { ValidationError } from '../errors/errors.js';

/**
 * Parity mode's default: on unless `NODE_ENV === 'production'`, so tests and development see
 * exactly what a payload becomes on its way to another node (functions, symbols and cycles
 * refused, the size limit enforced, class instances arriving as plain objects, every receiver
 * holding its own copy), and production pays nothing for it.
 */
export function parityDefault(): boolean {
  return process.env['NODE_ENV'] !== 'production';
}

/**
 * Check the host option `parity` (a boolean or absent).
 * @throws ValidationError for anything else.
 */
export function assertParityOption(value: unknown): void {
  if (value === undefined || typeof value === 'boolean') return;
  throw new ValidationError(
    `Host option "parity" must be a boolean, got ${JSON.stringify(value)}.`,
    {
      details: { field: 'parity' },
    },
  );
}
