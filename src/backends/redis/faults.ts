import type { Logger } from 'pino';
import { isPlugboardError } from '../../errors/errors.js';
import { RateLimitedWarning } from './rate-limited-warning.js';

/**
 * Kinds of corrupt or forged backend state the Redis backend met, skipped and survived. Each
 * is counted and warned about through a {@link RateLimitedWarning}.
 */
export const FAULT_MESSAGES = {
  malformedEntry: 'Skipped a malformed registry entry (corrupt or forged)',
  forgedEntry:
    'Ignored a registry entry that fails the cluster MAC check (forged, or written by a node with another clusterSecret)',
  wrongTypeKey: 'A Redis key holds the wrong type (corrupt or forged); skipped or replaced',
  malformedChange: 'Dropped a malformed registry change frame',
  unconfirmedChange: 'Ignored a registry change frame that Redis does not confirm',
  malformedOwnedMember: 'Dropped an unparsable member of a node owned-entries set',
  reapFailed: 'Could not reap a node whose liveness lapsed; skipped for now',
  poisonedNode: 'Removed a node that could not be reaped normally (poisoned state)',
  malformedQueueMessage: 'Repaired or dropped a queue message with malformed metadata',
  malformedFrame: 'Dropped a malformed transport frame',
  malformedFeedChange: 'Skipped a malformed change-feed entry or notification (corrupt or forged)',
  malformedCacheValue:
    'Read a shared cache value without a version (written by something else) as a miss',
  malformedTxRecord: 'Skipped a malformed transaction log record (corrupt or forged)',
} as const;

export type FaultKind = keyof typeof FAULT_MESSAGES;

/** How many times each fault was met since the backend was created (read-only view). */
export type FaultCounts = Readonly<Record<FaultKind, number>>;

/** Counts faults and warns about them, rate-limited per kind. */
export class BackendFaults {
  private readonly counts: Record<FaultKind, number>;
  private readonly warnings: Record<FaultKind, RateLimitedWarning>;

  constructor(logger: Logger, intervalMs?: number) {
    const kinds = Object.keys(FAULT_MESSAGES) as FaultKind[];
    this.counts = Object.fromEntries(kinds.map((k) => [k, 0])) as Record<FaultKind, number>;
    this.warnings = Object.fromEntries(
      kinds.map((k) => [k, new RateLimitedWarning(logger, FAULT_MESSAGES[k], intervalMs)]),
    ) as Record<FaultKind, RateLimitedWarning>;
  }

  /** The counters (a live view: it changes as faults are met). */
  get view(): FaultCounts {
    return this.counts;
  }

  /** Count `n` occurrences of `kind` and warn (rate-limited). */
  record(kind: FaultKind, details: Record<string, unknown> = {}, error?: unknown, n = 1): void {
    if (n <= 0) return;
    this.counts[kind] += n;
    this.warnings[kind].warn(n > 1 ? { ...details, count: n } : details, error);
  }

  /** Log pending summaries (the backend is closing). */
  flush(): void {
    for (const warning of Object.values(this.warnings)) warning.flush();
  }
}

/**
 * True when Redis answered a command with an error (a reply such as WRONGTYPE or a failing
 * script), as opposed to not answering (timeout, connection lost): the state is at fault, not
 * the connection.
 */
export function isReplyError(error: unknown): boolean {
  const cause = isPlugboardError(error) ? error.cause : error;
  return cause instanceof Error && cause.name === 'ReplyError';
}
