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
    return this.sample();
  }

  /**
   * One publication's local dispatch: true when its first handler is to be timed. The dispatch
   * adds its deliveries to {@link delivered} once, at the end: per-handler bookkeeping would
   * cost as much as a synchronous handler call itself.
   */
  sample(): boolean {
    return (this.ticks++ & SAMPLE_MASK) === 0;
  }
}

/**
 * One RPC service method, as called from this node: calls, failures, latency (sampled). An
 * untimed call costs two increments: the RPC caller and runner count a failure where its
 * rejection is made and time a sampled call where it settles (see `rpc/call-meter.ts`), not by
 * a reaction on every result.
 */
export class CallSeries {
  calls = 0;
  errors = 0;
  private ticks = 0;

  constructor(readonly latency: Latency) {}

  /** Count a call; true when this one is to be timed (the first, then one in {@link SAMPLE_EVERY}). */
  call(): boolean {
    this.calls++;
    return (this.ticks++ & SAMPLE_MASK) === 0;
  }
}
