import type { Metric, Registry } from 'prom-client';

/** Handler and call durations: 0.1 ms to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
];

/**
 * Durations of one labelled series: count, sum and per-bucket counts kept here as plain numbers
 * (an observation is a short loop and three additions, no label hashing), exported through
 * {@link LatencyHistogram} at scrape time.
 */
export class Latency {
  count = 0;
  /** Seconds. */
  sum = 0;
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  readonly perBucket: Float64Array;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.perBucket = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.perBucket[i]!++;
  }
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram whose series are {@link Latency} objects, registered in a prom-client
 * `Registry` as a custom metric (prom-client reads a metric's `name`, `help`, `type` and what
 * its `get()` resolves with): the text format and `getMetricsAsJSON` are prom-client's own.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: Latency[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
    private readonly bounds: readonly number[] = LATENCY_BUCKETS,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** A new series with `labels` (the caller bounds how many it makes). */
  add(labels: Readonly<Record<string, string>> = {}): Latency {
    const latency = new Latency(labels, this.bounds);
    this.series.push(latency);
    return latency;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Sample[];
  }> {
    const values: Sample[] = [];
    for (const s of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.perBucket[i]!;
        values.push({
          labels: { ...s.labels, le: i < this.bounds.length ? this.bounds[i]! : '+Inf' },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }
}
