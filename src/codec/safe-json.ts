import { SerializationError } from '../errors/errors.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * `JSON.parse` that refuses prototype-polluting keys (`__proto__`, `constructor`,
 * `prototype`) with a {@link SerializationError} naming the path, instead of silently
 * producing an object that could poison a later `Object.assign` or merge.
 */
export function safeJsonParse(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text, function reviver(this: unknown, key: string, v: unknown) {
      if (FORBIDDEN_KEYS.has(key) && v !== null && typeof v === 'object') {
        throw new SerializationError(
          `JSON contains the forbidden key "${key}" (prototype pollution).`,
          {
            details: { key },
          },
        );
      }
      return v;
    });
  } catch (cause) {
    if (cause instanceof SerializationError) throw cause;
    throw new SerializationError(`Invalid JSON: ${(cause as Error).message}`, { cause });
  }
  return value;
}
