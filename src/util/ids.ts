import { randomBytes } from 'node:crypto';

/** A short random identifier (base64url), e.g. for node ids. */
export function randomId(bytes = 9): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Cheap unique ids: a random per-process prefix plus a counter. Unique across processes
 * (the prefix is random) and monotonic within one, at the cost of a string concat.
 */
export function createIdGenerator(prefix = randomId(6)): () => string {
  let counter = 0;
  return () => `${prefix}-${(++counter).toString(36)}`;
}
