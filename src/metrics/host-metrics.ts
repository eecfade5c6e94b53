import { Counter, Gauge, Registry } from 'prom-client';
import type { QueueCounts, QueueStore } from '../backends/ports.js';
import type { BreakerRegistry } from '../resilience/breaker-registry.js';
import { CappedLabels, DEFAULT_LABEL_CAP, OTHER_LABEL, splitCall } from './capped-labels.js';
import { LatencyHistogram, type Latency } from './histogram.js';
import { CallSeries, EventSeries } from './series.js';
import { parseDurableQueueName, parseWorkQueueName } from '../queue/queue-names.js';
import { snapshotOf } from './snapshot.js';
import type { MetricsSnapshot } from './types.js';

/** Queue counts are read from the backend at most this often (a scrape every second is cheap). */
export const QUEUE_CACHE_MS = 1000;

const BREAKER_STATES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** What the runtime lends the metrics while it runs (read at scrape time). */
export interface MetricSources {
  readonly queues: QueueStore;
  readonly breakers: BreakerRegistry;
}

export interface HostMetricsOptions {
  nodeId: string;
  /** Distinct label values per metric (default {@link DEFAULT_LABEL_CAP}). */
  labelCap?: number;
  /** How long queue counts read from the backend are reused, ms (default {@link QUEUE_CACHE_MS}). */
  queueCacheMs?: number;
}

/**
 * One host's metrics, in a prom-client `Registry` of its own (never the global one: hosts in one
 * process do not collide). Building blocks bump plain counters on the hot path
 * ({@link EventSeries}, {@link CallSeries}); collectors copy them into prom-client at scrape
 * time, and read queue depths (cached briefly) and breaker states then.
 */
export class HostMetrics {
  readonly registry = new Registry();
  readonly nodeId: string;
  readonly events: CappedLabels<EventSeries>;
  readonly calls: CappedLabels<CallSeries>;
  readonly lockWait: Latency;
  readonly lockHold: Latency;
  locksAcquired = 0;
  lockTimeouts = 0;
  locksHeld = 0;
  readonly transactions = { committed: 0, aborted: 0, inDoubt: 0 };
  readonly cache = { hits: 0, misses: 0 };
  /** Plugins that created or looked up each breaker (a breaker is shared by name on a node). */
  readonly breakerOwners = new Map<string, Set<string>>();
  private sources: MetricSources | undefined;
  // One-entry memos: a hot loop publishes (or calls) the same name again and again.
  private lastEvent: string | undefined;
  private lastEventSeries: EventSeries | undefined;
  private lastService: string | undefined;
  private lastMethod: string | undefined;
  private lastCall: CallSeries | undefined;
  private readonly labelCap: number;
  private readonly queueCacheMs: number;
  private queueRead: { at: number; counts: Promise<Map<string, QueueCounts>> } | undefined;
  private lastQueues = new Map<string, QueueCounts>();

  constructor(options: HostMetricsOptions) {
    this.nodeId = options.nodeId;
    this.labelCap = options.labelCap ?? DEFAULT_LABEL_CAP;
    this.queueCacheMs = options.queueCacheMs ?? QUEUE_CACHE_MS;
    const registers = [this.registry];
    const handler = new LatencyHistogram(
      'plugboard_event_handler_duration_seconds',
      'Event handler durations by event name (sampled: the first delivery, then one in 16).',
      this.registry,
    );
    this.events = new CappedLabels(
      this.labelCap,
      (key) => new EventSeries(handler.add({ event: key ?? OTHER_LABEL })),
    );
    const callLatency = new LatencyHistogram(
      'plugboard_rpc_call_duration_seconds',
      'RPC call durations seen by callers on this host (sampled: the first call, then one in 16).',
      this.registry,
    );
    this.calls = new CappedLabels(this.labelCap, (key) => {
      const [service, method] = splitCall(key);
      return new CallSeries(callLatency.add({ service, method }));
    });
    this.lockWait = new LatencyHistogram(
      'plugboard_lock_wait_seconds',
      'Time lock.acquire waited, granted or timed out.',
      this.registry,
    ).add();
    this.lockHold = new LatencyHistogram(
      'plugboard_lock_hold_seconds',
      'Time a lock was held, until released or lost.',
      this.registry,
      [0.001, 0.01, 0.1, 1, 10, 60, 600],
    ).add();
    this.defineCounters(this, registers);
    this.defineGauges(this, registers);
  }

  /** The event name's series (bounded: see {@link CappedLabels}); the last one is memoized. */
  event(name: string): EventSeries {
    if (name === this.lastEvent) return this.lastEventSeries!;
    const series = this.events.get(name);
    this.lastEvent = name;
    this.lastEventSeries = series;
    return series;
  }

  /** The service method's series, as called from this host; the last one is memoized. */
  call(service: string, method: string): CallSeries {
    if (service === this.lastService && method === this.lastMethod) return this.lastCall!;
    const series = this.calls.get(`${service}\u0000${method}`);
    this.lastService = service;
    this.lastMethod = method;
    this.lastCall = series;
    return series;
  }

  /** `acquire` ended after waiting `seconds`: granted, or not (a timeout). */
  lockWaited(seconds: number, granted: boolean): void {
    this.lockWait.observe(seconds);
    if (granted) this.locksAcquired++;
    else this.lockTimeouts++;
  }

  lockGranted(): void {
    this.locksHeld++;
  }

  lockEnded(heldSeconds: number): void {
    this.locksHeld--;
    this.lockHold.observe(heldSeconds);
  }

  transactionEnded(outcome: 'committed' | 'aborted' | 'in-doubt'): void {
    if (outcome === 'in-doubt') this.transactions.inDoubt++;
    else this.transactions[outcome]++;
  }

  cacheRead(hit: boolean): void {
    if (hit) this.cache.hits++;
    else this.cache.misses++;
  }

  /** Plugin `pluginId` uses breaker `name` (health marks it degraded while the breaker is open). */
  breakerUsedBy(name: string, pluginId: string): void {
    let owners = this.breakerOwners.get(name);
    if (owners === undefined) this.breakerOwners.set(name, (owners = new Set()));
    owners.add(pluginId);
  }

  /** Plugin `pluginId` stopped using breaker `name` (its instance stopped or was reloaded). */
  breakerReleasedBy(name: string, pluginId: string): void {
    const owners = this.breakerOwners.get(name);
    if (owners === undefined) return;
    owners.delete(pluginId);
    if (owners.size === 0) this.breakerOwners.delete(name);
  }

  /** Breakers of `pluginId` that are open now. */
  openBreakersOf(pluginId: string): string[] {
    const breakers = this.sources?.breakers;
    if (breakers === undefined) return [];
    const open: string[] = [];
    for (const [name, owners] of this.breakerOwners) {
      if (owners.has(pluginId) && breakers.get(name)?.state === 'open') open.push(name);
    }
    return open;
  }

  /** Lend the runtime's stores while it runs; the returned function takes them back. */
  attach(sources: MetricSources): () => void {
    this.sources = sources;
    this.queueRead = undefined;
    return () => {
      if (this.sources === sources) this.sources = undefined;
      this.queueRead = undefined;
      this.lastQueues = new Map();
      this.breakerOwners.clear();
    };
  }

  /** The metrics as data. */
  async snapshot(): Promise<MetricsSnapshot> {
    return snapshotOf(this, queueLabel, await this.queueCounts(), this.sources?.breakers);
  }

  /** The metrics in Prometheus text format ({@link contentType}). */
  prometheus(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Counts of the first `labelCap` queues (by name) of the backend, reused for `queueCacheMs`.
   * A backend that cannot answer (reconnecting) yields the last counts read.
   */
  queueCounts(): Promise<Map<string, QueueCounts>> {
    const store = this.sources?.queues;
    if (store === undefined) return Promise.resolve(new Map<string, QueueCounts>());
    const now = performance.now();
    if (this.queueRead !== undefined && now - this.queueRead.at < this.queueCacheMs)
      return this.queueRead.counts;
    const counts = readQueues(store, this.labelCap).then(
      (read) => (this.lastQueues = read),
      () => this.lastQueues,
    );
    this.queueRead = { at: now, counts };
    return counts;
  }

  private defineCounters(metrics: HostMetrics, registers: Registry[]): void {
    const { events, calls } = metrics;
    const perEvent = (name: string, help: string, read: (s: EventSeries) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['event'],
        registers,
        collect() {
          this.reset();
          for (const [event, series] of events) this.inc({ event }, read(series));
        },
      });
    };
    perEvent(
      'plugboard_events_published_total',
      'Events published by this host, by name.',
      (s) => s.published,
    );
    perEvent(
      'plugboard_events_delivered_total',
      'Event deliveries to handlers on this host, by name.',
      (s) => s.delivered,
    );
    const perCall = (name: string, help: string, read: (s: CallSeries) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['service', 'method'],
        registers,
        collect() {
          this.reset();
          for (const [key, series] of calls) {
            const [service, method] = splitCall(key);
            this.inc({ service, method }, read(series));
          }
        },
      });
    };
    perCall('plugboard_rpc_calls_total', 'RPC calls made from this host.', (s) => s.calls);
    perCall('plugboard_rpc_errors_total', 'RPC calls from this host that failed.', (s) => s.errors);
    new Counter({
      name: 'plugboard_locks_acquired_total',
      help: 'Locks granted to lock.acquire.',
      registers,
      collect() {
        this.reset();
        this.inc(metrics.locksAcquired);
      },
    });
    new Counter({
      name: 'plugboard_lock_timeouts_total',
      help: 'lock.acquire calls that timed out waiting.',
      registers,
      collect() {
        this.reset();
        this.inc(metrics.lockTimeouts);
      },
    });
    new Counter({
      name: 'plugboard_transactions_total',
      help: 'Transactions coordinated by this host, by outcome.',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const t = metrics.transactions;
        this.inc({ outcome: 'committed' }, t.committed);
        this.inc({ outcome: 'aborted' }, t.aborted);
        this.inc({ outcome: 'in_doubt' }, t.inDoubt);
      },
    });
    new Counter({
      name: 'plugboard_cache_reads_total',
      help: 'cache.get calls, by result (hit or miss).',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'hit' }, metrics.cache.hits);
        this.inc({ result: 'miss' }, metrics.cache.misses);
      },
    });
    const perBreaker = (
      name: string,
      help: string,
      read: (s: BreakerStatsLike) => number,
    ): void => {
      new Counter({
        name,
        help,
        labelNames: ['breaker'],
        registers,
        collect() {
          this.reset();
          for (const breaker of metrics.sources?.breakers.list() ?? [])
            this.inc({ breaker: breaker.name }, read(breaker.stats));
        },
      });
    };
    perBreaker(
      'plugboard_breaker_failures_total',
      'Calls through a circuit breaker that failed.',
      (s) => s.failuresTotal,
    );
    perBreaker(
      'plugboard_breaker_rejected_total',
      'Calls a circuit breaker refused while open.',
      (s) => s.rejectedTotal,
    );
  }

  private defineGauges(metrics: HostMetrics, registers: Registry[]): void {
    new Gauge({
      name: 'plugboard_locks_held',
      help: 'Locks held by this host now.',
      registers,
      collect() {
        this.set(metrics.locksHeld);
      },
    });
    new Gauge({
      name: 'plugboard_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      labelNames: ['breaker'],
      registers,
      collect() {
        this.reset();
        for (const breaker of metrics.sources?.breakers.list() ?? [])
          this.set({ breaker: breaker.name }, BREAKER_STATES[breaker.state]);
      },
    });
    const perQueue = (name: string, help: string, read: (c: QueueCounts) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['queue', 'kind'],
        registers,
        async collect() {
          const counts = await metrics.queueCounts();
          this.reset();
          for (const [backendName, c] of counts) {
            const { kind, name } = queueLabel(backendName)!;
            this.set({ queue: name, kind }, read(c));
          }
        },
      });
    };
    perQueue('plugboard_queue_waiting', 'Messages ready to be claimed, per queue.', (c) => c.ready);
    perQueue(
      'plugboard_queue_delayed',
      'Messages scheduled for later, per queue.',
      (c) => c.delayed,
    );
    perQueue(
      'plugboard_queue_in_flight',
      'Messages claimed and not settled, per queue.',
      (c) => c.leased,
    );
    perQueue('plugboard_queue_dead', 'Dead letters, per queue.', (c) => c.dead);
  }
}

interface BreakerStatsLike {
  readonly failuresTotal: number;
  readonly rejectedTotal: number;
}

/** One queue as labelled: work queues by name, durable event queues as `group:pattern`. */
export interface QueueLabel {
  readonly kind: 'work' | 'durable';
  readonly name: string;
}

/** The counts of the first `cap` queues (by backend name), keyed by backend name. */
async function readQueues(store: QueueStore, cap: number): Promise<Map<string, QueueCounts>> {
  const names = (await store.queueNames()).filter((name) => queueLabel(name) !== undefined);
  names.sort();
  names.length = Math.min(names.length, cap);
  const counts = await Promise.all(names.map((name) => store.counts(name)));
  return new Map(names.map((name, i) => [name, counts[i]!]));
}

/** How a backend queue is labelled; undefined for a queue that is neither kind. */
export function queueLabel(backendName: string): QueueLabel | undefined {
  const work = parseWorkQueueName(backendName);
  if (work !== undefined) return { kind: 'work', name: work };
  const durable = parseDurableQueueName(backendName);
  return durable === undefined
    ? undefined
    : { kind: 'durable', name: `${durable.group}:${durable.pattern}` };
}
