/**
 * Public types of `host.metrics()`: the host's metrics as data. The same numbers are served in
 * Prometheus text format by `host.metrics({ format: 'prometheus' })` and `GET /metrics`.
 */

/** Durations timed so far: how many and their total, seconds (buckets: Prometheus format). */
export interface LatencySummary {
  readonly count: number;
  readonly sumSeconds: number;
}

/** One event name (or `_other`: every name past the label cap). */
export interface EventMetrics {
  /** Publications from this host. */
  readonly published: number;
  /** Deliveries to subscribers' handlers on this host (from this node or others). */
  readonly delivered: number;
  /** Handler durations, timed on a sample of deliveries (the first, then one in 16). */
  readonly handlerLatency: LatencySummary;
}

/** Calls from this host to one service method (or `_other`). */
export interface CallMetrics {
  readonly calls: number;
  /** Calls that rejected (any error: timeout, no provider, the method threw...). */
  readonly errors: number;
  /** Call durations, timed on a sample of calls (the first, then one in 16). */
  readonly latency: LatencySummary;
}

/** One queue's messages now, by state (read from the backend at most once a second). */
export interface QueueMetrics {
  readonly waiting: number;
  readonly delayed: number;
  readonly inFlight: number;
  readonly dead: number;
}

/** One circuit breaker of this node. */
export interface BreakerMetrics {
  readonly state: 'closed' | 'open' | 'half-open';
  readonly successes: number;
  readonly failures: number;
  readonly rejected: number;
  /** Plugins of this host that created (or looked up) the breaker. */
  readonly plugins: readonly string[];
}

/** `context.lock` on this host. */
export interface LockMetrics {
  readonly acquired: number;
  /** `acquire` calls that gave up (`LockTimeoutError`). */
  readonly timedOut: number;
  /** Locks held now. */
  readonly held: number;
  /** Time `acquire` waited, per attempt that ended (granted or timed out). */
  readonly wait: LatencySummary;
  /** Time a lock was held, per lock released or lost. */
  readonly hold: LatencySummary;
}

/** Transactions this host coordinated, by outcome. */
export interface TransactionMetrics {
  readonly committed: number;
  readonly aborted: number;
  readonly inDoubt: number;
}

/** `context.cache.get` on this host. */
export interface CacheMetrics {
  readonly hits: number;
  readonly misses: number;
}

/**
 * `host.metrics()`: every building block's metrics on this host. Names of events, services,
 * methods and queues are label values: each metric keeps at most 500 distinct ones, the rest are
 * added up under `_other`.
 */
export interface MetricsSnapshot {
  readonly nodeId: string;
  /** Epoch milliseconds. */
  readonly takenAt: number;
  readonly events: Readonly<Record<string, EventMetrics>>;
  /** By service, then method. */
  readonly rpc: Readonly<Record<string, Readonly<Record<string, CallMetrics>>>>;
  /** `context.messageQueue` queues, by name. */
  readonly queues: Readonly<Record<string, QueueMetrics>>;
  /** Durable event queues (durable subscriptions), by `group:pattern`. */
  readonly durableQueues: Readonly<Record<string, QueueMetrics>>;
  readonly breakers: Readonly<Record<string, BreakerMetrics>>;
  readonly locks: LockMetrics;
  readonly transactions: TransactionMetrics;
  readonly cache: CacheMetrics;
}

/** What `host.metrics()` returns: data (default) or Prometheus text. */
export interface MetricsFormatOption {
  readonly format?: 'json' | 'prometheus';
}

/** `createHost({ http })`: where the host serves `GET /metrics` and `GET /health`. */
export interface HttpOptions {
  /** TCP port; 0 picks a free one (read it from `host.httpAddress`). */
  readonly port: number;
  /** Interface to listen on. Default `127.0.0.1` (this machine only). */
  readonly host?: string;
}

/** Where the host's HTTP server listens. */
export interface HttpAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
}
