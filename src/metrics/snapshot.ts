import type { QueueCounts } from '../backends/ports.js';
import type { BreakerRegistry } from '../resilience/breaker-registry.js';
import { splitCall, type CappedLabels } from './capped-labels.js';
import type { Latency } from './histogram.js';
import type { CallSeries, EventSeries } from './series.js';
import type {
  BreakerMetrics,
  CallMetrics,
  EventMetrics,
  LatencySummary,
  MetricsSnapshot,
  QueueMetrics,
} from './types.js';

/** The accumulators a snapshot reads (a `HostMetrics`). */
export interface SnapshotSource {
  readonly nodeId: string;
  readonly events: CappedLabels<EventSeries>;
  readonly calls: CappedLabels<CallSeries>;
  readonly lockWait: Latency;
  readonly lockHold: Latency;
  readonly locksAcquired: number;
  readonly lockTimeouts: number;
  readonly locksHeld: number;
  readonly transactions: { committed: number; aborted: number; inDoubt: number };
  readonly cache: { hits: number; misses: number };
  readonly breakerOwners: ReadonlyMap<string, ReadonlySet<string>>;
}

/** `host.metrics()`: the accumulators as plain frozen data. */
export function snapshotOf(
  metrics: SnapshotSource,
  labelOf: (backendName: string) => { kind: 'work' | 'durable'; name: string } | undefined,
  queues: ReadonlyMap<string, QueueCounts>,
  breakers: BreakerRegistry | undefined,
): MetricsSnapshot {
  const events: Record<string, EventMetrics> = {};
  for (const [name, s] of metrics.events) {
    events[name] = {
      published: s.published,
      delivered: s.delivered,
      handlerLatency: summary(s.latency),
    };
  }
  const rpc: Record<string, Record<string, CallMetrics>> = {};
  for (const [key, s] of metrics.calls) {
    const [service, method] = splitCall(key);
    (rpc[service] ??= {})[method] = {
      calls: s.calls,
      errors: s.errors,
      latency: summary(s.latency),
    };
  }
  const queueMetrics: Record<string, QueueMetrics> = {};
  const durableQueues: Record<string, QueueMetrics> = {};
  for (const [backendName, c] of queues) {
    const label = labelOf(backendName);
    if (label === undefined) continue;
    const into = label.kind === 'work' ? queueMetrics : durableQueues;
    into[label.name] = { waiting: c.ready, delayed: c.delayed, inFlight: c.leased, dead: c.dead };
  }
  const breakerMetrics: Record<string, BreakerMetrics> = {};
  for (const breaker of breakers?.list() ?? []) {
    const stats = breaker.stats;
    breakerMetrics[breaker.name] = {
      state: stats.state,
      successes: stats.successesTotal,
      failures: stats.failuresTotal,
      rejected: stats.rejectedTotal,
      plugins: [...(metrics.breakerOwners.get(breaker.name) ?? [])].sort(),
    };
  }
  return deepFreeze({
    nodeId: metrics.nodeId,
    takenAt: Date.now(),
    events,
    rpc,
    queues: queueMetrics,
    durableQueues,
    breakers: breakerMetrics,
    locks: {
      acquired: metrics.locksAcquired,
      timedOut: metrics.lockTimeouts,
      held: metrics.locksHeld,
      wait: summary(metrics.lockWait),
      hold: summary(metrics.lockHold),
    },
    transactions: { ...metrics.transactions },
    cache: { ...metrics.cache },
  });
}

function summary(latency: Latency): LatencySummary {
  return { count: latency.count, sumSeconds: latency.sum };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
