import type { Grant } from './fixtures/lock-node.js';

/** One violation of the history check, in words. */
export type Violation = string;

/**
 * When a grant's holder may act as the holder: from the moment `acquire()` resolved until the
 * earlier of `expiresAt` (past it the lock may be someone else's) and the `release()` call.
 */
export const validity = (grant: Grant): { from: number; to: number } => ({
  from: grant.grantedAt,
  to: Math.min(grant.expiresAt, grant.releaseAt),
});

/** Grants in the order they were made: by grant time, then token (two grants may share a ms). */
export const inGrantOrder = (grants: readonly Grant[]): Grant[] =>
  [...grants].sort((a, b) => a.grantedAt - b.grantedAt || a.token - b.token);

/** Smallest time from one grant's validity end to the next grant of the same resource, ms. */
export function smallestHandover(grants: readonly Grant[]): number {
  let smallest = Infinity;
  for (const resource of new Set(grants.map((g) => g.resource))) {
    const ordered = inGrantOrder(grants.filter((g) => g.resource === resource));
    for (let i = 1; i < ordered.length; i++) {
      smallest = Math.min(smallest, ordered[i]!.grantedAt - validity(ordered[i - 1]!).to);
    }
  }
  return smallest;
}

/**
 * The history check over every grant of every process: per resource, in grant order, no two
 * grants overlap in validity and every token exceeds the one before. All times are on one wall
 * clock (the processes share a machine). Returns what is wrong (empty: the history is sound).
 */
export function checkHistory(grants: readonly Grant[]): Violation[] {
  const violations: Violation[] = [];
  const byResource = new Map<string, Grant[]>();
  for (const grant of grants) {
    const list = byResource.get(grant.resource) ?? [];
    list.push(grant);
    byResource.set(grant.resource, list);
  }
  for (const [resource, list] of byResource) {
    const ordered = inGrantOrder(list);
    for (let i = 1; i < ordered.length; i++) {
      const before = ordered[i - 1]!;
      const grant = ordered[i]!;
      const previous = validity(before);
      if (validity(grant).from < previous.to) {
        violations.push(
          `${resource}: ${grant.node} (token ${grant.token}) granted at ${grant.grantedAt}, while ` +
            `${before.node} (token ${before.token}) still held it until ${previous.to}`,
        );
      }
      if (grant.token <= before.token) {
        violations.push(
          `${resource}: token ${grant.token} (${grant.node}) does not exceed the one granted before ` +
            `it, ${before.token} (${before.node})`,
        );
      }
    }
  }
  return violations;
}
