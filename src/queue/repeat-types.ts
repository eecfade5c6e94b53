/**
 * When a repeating message is due: every `every` ms (counted from the epoch, so every host
 * computes the same due times), or at the times a cron pattern names (5 fields, or 6 with
 * seconds first), read in `timezone` (an IANA name such as `Europe/Paris`; default UTC).
 */
export type RepeatSchedule = { every: number } | { cron: string; timezone?: string };

/** A running repeat schedule on this host. */
export interface RepeatHandle {
  readonly name: string;
  /**
   * Stop this host from enqueueing further occurrences; resolves once it no longer can. The
   * occurrence already enqueued stays and is delivered at its due time (other hosts running the
   * same schedule rely on it being there), so at most one more delivery follows a cancel.
   */
  cancel(): Promise<void>;
}
