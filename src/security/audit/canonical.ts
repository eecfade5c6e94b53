import { ValidationError } from '../../errors/errors.js';

/** Deepest nesting of an entry's metadata. */
const MAX_DEPTH = 32;

function refuse(path: string, what: string): ValidationError {
  return new ValidationError(
    `Audit entry field "${path}" ${what}; audit entries hold JSON values (strings, finite ` +
      'numbers, booleans, null, arrays, plain objects) and Dates (kept as epoch ms).',
    { details: { field: path } },
  );
}

/**
 * The canonical JSON text of `value`: object keys sorted (by UTF-16 code units, as
 * `Array.prototype.sort`), `undefined` members left out, Dates as epoch milliseconds, no
 * whitespace. Two equal entries always give the same text, so the same hash.
 * @throws ValidationError naming the field for what JSON cannot hold unambiguously (functions,
 * symbols, BigInt, NaN/Infinity, Map/Set and other class instances, cycles, too deep).
 */
export function canonicalJson(value: unknown, path = 'entry'): string {
  return write(value, path, 0, new Set());
}

function write(value: unknown, path: string, depth: number, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw refuse(path, `is ${String(value)}`);
      // -0 and 0 are one number here.
      return JSON.stringify(value === 0 ? 0 : value);
    case 'object':
      break;
    default:
      throw refuse(path, `is a ${typeof value}`);
  }
  if (value === null) return 'null';
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw refuse(path, 'is an invalid Date');
    return String(ms);
  }
  if (depth >= MAX_DEPTH) throw refuse(path, `is nested deeper than ${MAX_DEPTH} levels`);
  if (seen.has(value)) throw refuse(path, 'refers back to itself (a cycle)');
  seen.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((item, i) => write(item ?? null, `${path}[${i}]`, depth + 1, seen)).join(',')}]`;
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw refuse(path, `is a ${value.constructor?.name ?? 'class'} instance`);
    }
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${write(member, `${path}.${key}`, depth + 1, seen)}`);
    }
    text = `{${parts.join(',')}}`;
  }
  seen.delete(value);
  return text;
}
