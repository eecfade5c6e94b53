/** Buckets a window is cut into: counts leave the window in steps of `windowMs / BUCKETS`. */
export const BUCKETS = 10;

/**
 * Two counters (`calls`, and `marked`, the share of them that were failures or retries) over the
 * last `windowMs`, kept in {@link BUCKETS} time buckets. Fixed memory; one pass over expired
 * buckets when the clock moves past the current one, nothing per call but two increments.
 */
export class RollingWindow {
  /** In the window. */
  calls = 0;
  marked = 0;
  private readonly bucketCalls = new Float64Array(BUCKETS);
  private readonly bucketMarked = new Float64Array(BUCKETS);
  private readonly bucketMs: number;
  private index = 0;
  /** When the current bucket ends (clock ms). */
  private bucketEnd: number;

  constructor(windowMs: number, now: number) {
    this.bucketMs = Math.max(1, windowMs / BUCKETS);
    this.bucketEnd = now + this.bucketMs;
  }

  /** Count one call at `now`; `mark`: it failed (a breaker) or was a retry (a retry budget). */
  add(now: number, mark: boolean): void {
    if (now >= this.bucketEnd) this.roll(now);
    this.bucketCalls[this.index]!++;
    this.calls++;
    if (mark) {
      this.bucketMarked[this.index]!++;
      this.marked++;
    }
  }

  /** Drop the buckets that ended before `now`. */
  roll(now: number): void {
    if (now < this.bucketEnd) return;
    const passed = Math.floor((now - this.bucketEnd) / this.bucketMs) + 1;
    for (let i = Math.min(passed, BUCKETS); i > 0; i--) {
      this.index = (this.index + 1) % BUCKETS;
      this.calls -= this.bucketCalls[this.index]!;
      this.marked -= this.bucketMarked[this.index]!;
      this.bucketCalls[this.index] = 0;
      this.bucketMarked[this.index] = 0;
    }
    this.bucketEnd += passed * this.bucketMs;
  }

  clear(now: number): void {
    this.bucketCalls.fill(0);
    this.bucketMarked.fill(0);
    this.calls = 0;
    this.marked = 0;
    this.bucketEnd = now + this.bucketMs;
  }
}
