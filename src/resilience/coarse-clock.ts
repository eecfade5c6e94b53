import type { Clock } from './call-context.js';

/** How stale a coarse reading may be, ms (while the event loop turns). */
const RESOLUTION_MS = 10;
/** Readings served from one clock read at most, for bursts that never yield to timers. */
const READS_PER_REFRESH = 64;

/**
 * `Date.now()` read at most once per {@link RESOLUTION_MS} (or per {@link READS_PER_REFRESH}
 * readings): a clock read costs more than a guarded call itself on some machines, and a
 * breaker's buckets (a tenth of its window) do not need better. The refresh timer runs only
 * while the clock is being read, and never keeps the process alive.
 */
export class CoarseClock implements Clock {
  private cached = 0;
  private reads = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly expire = (): void => {
    this.timer = undefined;
    this.reads = 0;
  };

  now(): number {
    if (--this.reads > 0) return this.cached;
    this.cached = Date.now();
    this.reads = READS_PER_REFRESH;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.expire, RESOLUTION_MS);
      this.timer.unref();
    }
    return this.cached;
  }
}

/** The process's coarse clock (shared by every breaker and retry budget). */
export const coarseClock = new CoarseClock();
