/**
 * Hot-path accumulators: plain numbers a building block bumps (no label hashing, no
 * allocation), read by the prom-client collectors at scrape time. Latency is timed on a sample
 * of deliveries (the first of each series, then one in {@link SAMPLE_EVERY}) and observed into a
 * pre-bound prom-client histogram child.
 */

/** One delivery in this many is timed (the first of a series always is). A power of two. */
export const SAMPLE_EVERY = 8;
const SAMPLE_MASK = SAMPLE_EVERY - 1;

/** A prom-client histogram child's `observe`, pre-bound to its labels. */
export type Observe = (seconds: number) => void;

/** Timed durations of one series: count and sum here (for snapshots), buckets in prom-client. */
export class Latency {
  count = 0;
  /** Seconds. */
  sum = 0;

  constructor(private readonly histogram: Observe) {}

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    this.histogram(seconds);
  }
}

/** One event name: publications, deliveries to handlers, handler latency (sampled). */
export class EventSeries {
  published = 0;
  delivered = 0;
  private ticks = 0;

  constructor(readonly latency: Latency) {}

  /** Count a delivery; true when this one is to be timed. */
  deliver(): boolean {
    this.delivered++;
    return (this.ticks++ & SAMPLE_MASK) === 0;
  }
}

/** One RPC service method, as called from this node: calls, failures, latency (every call). */
export class CallSeries {
  calls = 0;
  errors = 0;

  constructor(readonly latency: Latency) {}

  /** Count the call and time it to its settlement; returns `result` itself. */
  track<T>(result: Promise<T>): Promise<T> {
    this.calls++;
    const started = performance.now();
    result.then(
      () => this.latency.observe((performance.now() - started) / 1000),
      () => {
        this.errors++;
        this.latency.observe((performance.now() - started) / 1000);
      },
    );
    return result;
  }
}
