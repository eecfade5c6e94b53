import { ValidationError } from '../errors/errors.js';

/**
 * Names are dot-separated segments of letters, digits, `_`, `-`, `:` and `/`
 * (`user.created`, `order.v2.paid`, `email.tasks`), except the segment `__proto__`.
 * Subscriptions may also use `*` (one segment) and `**` (zero or more) as whole segments.
 */
const SEGMENT = /^[A-Za-z0-9_\-:/$@]+$/;
/** The one segment refused although its characters are allowed: a plain object's prototype. */
export const RESERVED_SEGMENT = '__proto__';
const MAX_NAME_LENGTH = 256;
/** Names have at most this many segments (the trie's memo packs the index in 10 bits). */
const MAX_SEGMENTS = 64;
/** Patterns have at most this many `**` segments, and never two in a row. */
const MAX_GLOBSTARS = 4;

const validated = new Set<string>();
const validatedPatterns = new Set<string>();
const CACHE_LIMIT = 10_000;

/** Throw a {@link ValidationError} unless `name` is a concrete dotted name (no wildcards). */
export function assertName(name: unknown, what: string): asserts name is string {
  if (typeof name === 'string' && validated.has(name)) return;
  checkName(name, what, false);
  if (validated.size < CACHE_LIMIT) validated.add(name);
}

/** Throw a {@link ValidationError} unless `pattern` is a valid subscription pattern. */
export function assertPattern(pattern: unknown, what: string): asserts pattern is string {
  if (typeof pattern === 'string' && validatedPatterns.has(pattern)) return;
  checkName(pattern, what, true);
  if (validatedPatterns.size < CACHE_LIMIT) validatedPatterns.add(pattern);
}

function checkName(name: unknown, what: string, wildcards: boolean): asserts name is string {
  if (typeof name !== 'string') {
    throw new ValidationError(`${what} must be a string, got ${typeof name}.`, {
      details: { name },
    });
  }
  if (name.length === 0)
    throw new ValidationError(`${what} must not be empty.`, { details: { name } });
  if (name.length > MAX_NAME_LENGTH) {
    throw new ValidationError(`${what} is longer than ${MAX_NAME_LENGTH} characters.`, {
      details: { name: name.slice(0, 64), length: name.length },
    });
  }
  const segments = name.split('.');
  if (segments.length > MAX_SEGMENTS) {
    throw new ValidationError(
      `${what} "${name.slice(0, 64)}…" has more than ${MAX_SEGMENTS} segments.`,
      {
        details: { segments: segments.length },
      },
    );
  }
  let globstars = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '**' && wildcards) {
      if (segments[i - 1] === '**') {
        throw new ValidationError(
          `${what} "${name}" repeats "**"; one "**" already matches any number of segments.`,
          {
            details: { name },
          },
        );
      }
      if (++globstars > MAX_GLOBSTARS) {
        throw new ValidationError(
          `${what} "${name}" has more than ${MAX_GLOBSTARS} "**" segments.`,
          { details: { name } },
        );
      }
    }
    if (segment === '') {
      throw new ValidationError(
        `${what} "${name}" has an empty segment; use dot-separated words like "user.created".`,
        { details: { name } },
      );
    }
    if (segment === '*' || segment === '**') {
      if (wildcards) continue;
      throw new ValidationError(
        `${what} "${name}" contains the wildcard "${segment}"; wildcards are only allowed when subscribing.`,
        { details: { name } },
      );
    }
    if (segment === RESERVED_SEGMENT) {
      throw new ValidationError(
        `${what} "${name}" has the segment "__proto__", which is reserved (it names an object's prototype); use another word.`,
        { details: { name, segment } },
      );
    }
    if (!SEGMENT.test(segment)) {
      throw new ValidationError(
        `${what} "${name}" has an invalid segment "${segment}"; use letters, digits and "_", "-", ":", "/", "$", "@".`,
        { details: { name, segment } },
      );
    }
  }
}
