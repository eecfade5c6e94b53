/**
 * Hot-path accumulators: plain numbers a building block bumps (no label hashing, no
 * allocation), read by the prom-client collectors at scrape time. Handler latency is timed on a
 * sample of deliveries (the first of each series, then one in {@link SAMPLE_EVERY}).
 */
import type { Latency } from './histogram.js';

/** One delivery in this many is timed (the first of a series always is). A power of two. */
export const SAMPLE_EVERY = 16;
const SAMPLE_MASK = SAMPLE_EVERY - 1;

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

/** One RPC service method, as called from this node: calls, failures, latency (sampled). */
export class CallSeries {
  calls = 0;
  errors = 0;
  private ticks = 0;
  /** Counts a failure (one function for every untimed call: no closure per call). */
  private readonly failed = (): void => {
    this.errors++;
  };

  constructor(readonly latency: Latency) {}

  /**
   * Count the call and its failure, if it fails; time it (the first call, then one in
   * {@link SAMPLE_EVERY}) to its settlement. Returns `result` itself.
   */
  track<T>(result: Promise<T>): Promise<T> {
    this.calls++;
    if ((this.ticks++ & SAMPLE_MASK) !== 0) {
      result.then(undefined, this.failed);
      return result;
    }
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
