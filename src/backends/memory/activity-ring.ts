/** What {@link ActivityRing} counts. */
export const ActivityKind = { Enqueued: 0, Completed: 1, Failed: 2 } as const;
export type ActivityKind = (typeof ActivityKind)[keyof typeof ActivityKind];

/** Seconds the ring covers: the window of `QueueStore.activity`. */
export const ACTIVITY_WINDOW_SECONDS = 60;

/**
 * A queue's recent activity as a fixed ring of per-second buckets: memory is the same however
 * busy or old the queue is, and a bucket is reset when its second comes round again.
 */
export class ActivityRing {
  /** The epoch second each bucket holds (-1: never used). */
  private readonly seconds = new Float64Array(ACTIVITY_WINDOW_SECONDS).fill(-1);
  private readonly counts = new Float64Array(ACTIVITY_WINDOW_SECONDS * 3);

  record(kind: ActivityKind, now: number): void {
    const second = Math.floor(now / 1000);
    const slot = second % ACTIVITY_WINDOW_SECONDS;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts.fill(0, slot * 3, slot * 3 + 3);
    }
    this.counts[slot * 3 + kind]!++;
  }

  /** Enqueued, completed and failed in the current second and the 59 before it. */
  totals(now: number): { enqueued: number; completed: number; failed: number } {
    const oldest = Math.floor(now / 1000) - ACTIVITY_WINDOW_SECONDS;
    const sums = [0, 0, 0];
    for (let slot = 0; slot < ACTIVITY_WINDOW_SECONDS; slot++) {
      if (this.seconds[slot]! <= oldest) continue;
      for (let kind = 0; kind < 3; kind++) sums[kind]! += this.counts[slot * 3 + kind]!;
    }
    return { enqueued: sums[0]!, completed: sums[1]!, failed: sums[2]! };
  }
}
