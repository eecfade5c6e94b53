import type { EventSeries } from '../metrics/series.js';
import type { Logger } from 'pino';
import { clusterBarrier } from '../backends/cluster-barrier.js';
import type { Backend, BindingChange, PortSubscription } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { DurableConsumer } from '../queue/durable-consumer.js';
import { durableQueueName } from '../queue/queue-names.js';
import type { Deadlines } from '../util/deadlines.js';
import type { DropReporter } from './drop-reporter.js';
import { PatternTrie } from './pattern-trie.js';
import type { SubscriptionRecord } from './subscription-record.js';
import type { EventMeta } from './types.js';

/** Deliveries before a failing durable event goes to the dead-letter list. */
export const DURABLE_MAX_ATTEMPTS = 5;

export interface DurableBindingsOptions {
  backend: Backend;
  codec: Codec;
  logger: Logger;
  nextId: () => string;
  handlerTimeout: number;
  /** Scheduler of the handler bounds. */
  deadlines: Deadlines;
  /** Bound on the cluster barrier behind `ready`. */
  readyTimeout: number;
  drops: DropReporter;
  report: (owner: string, meta: EventMeta, error: unknown) => void;
  /** Counts and times deliveries per event name (none: no metrics). */
  metrics?: { event(name: string): EventSeries };
}

/**
 * Durable subscriptions of one node and the cluster's bindings (which durable queue each
 * matching event is stored in). The bindings live in the queue store, which is authoritative:
 * this node holds a copy kept by `watchBindings` (the store redelivers what a dropped connection
 * missed), seeded from `bindings()` at start, never by a broadcast it might miss.
 */
export class DurableBindings {
  private readonly trie = new PatternTrie<string>();
  /** `<len(queue)>:<queue><pattern>` of every binding in {@link trie}. */
  private readonly known = new Set<string>();
  private readonly consumers = new Map<SubscriptionRecord, DurableConsumer>();
  private watch: PortSubscription | undefined;

  constructor(private readonly options: DurableBindingsOptions) {}

  /** Bindings known to this node. */
  get size(): number {
    return this.known.size;
  }

  /** Watch the store's bindings and load the current ones (no change lost in between). */
  async start(): Promise<void> {
    const { queues } = this.options.backend;
    let buffer: BindingChange[] | undefined = [];
    const watch = await queues.watchBindings((change) => {
      if (buffer !== undefined) buffer.push(change);
      else this.apply(change);
    });
    try {
      for (const binding of await queues.bindings()) this.apply({ type: 'bind', ...binding });
      for (const change of buffer) this.apply(change);
    } catch (error) {
      await watch.close();
      throw error;
    } finally {
      buffer = undefined;
    }
    this.watch = watch;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers.values()].map((c) => c.stop()));
    await this.watch?.close();
  }

  /** The durable queues an event is stored in. */
  queuesFor(event: string): ReadonlySet<string> | undefined {
    return this.known.size > 0 ? this.trie.match(event) : undefined;
  }

  /**
   * Bind the record's queue and start consuming it. `record.ready` resolves once the binding is
   * stored and every live node's binding table has it (a cluster barrier after the bind).
   */
  subscribe(record: SubscriptionRecord, group: string): void {
    const { backend } = this.options;
    const queue = durableQueueName(group, record.pattern);
    // Known here at once, so this node's next publish is already stored for it.
    this.apply({ type: 'bind', queue, pattern: record.pattern });
    const stored = backend.queues.bind(queue, record.pattern);
    const consumer = new DurableConsumer(record, queue, `${backend.nodeId}:${record.id}`, {
      store: backend.queues,
      codec: this.options.codec,
      logger: this.options.logger,
      drops: this.options.drops,
      nextId: this.options.nextId,
      handlerTimeout: this.options.handlerTimeout,
      deadlines: this.options.deadlines,
      maxAttempts: DURABLE_MAX_ATTEMPTS,
      report: this.options.report,
      ...(this.options.metrics === undefined ? {} : { metrics: this.options.metrics }),
    });
    this.consumers.set(record, consumer);
    consumer.start(stored);
    record.ready = stored.then(() =>
      clusterBarrier(backend, Date.now() + this.options.readyTimeout),
    );
    record.ready.catch((error: unknown) =>
      this.options.logger.warn(
        { err: error, group, pattern: record.pattern },
        'durable subscription not confirmed across the cluster',
      ),
    );
  }

  /** Stop the record's consumer, if it has one. The binding stays: events keep accumulating. */
  detach(record: SubscriptionRecord): Promise<void> | undefined {
    const consumer = this.consumers.get(record);
    if (consumer === undefined) return undefined;
    this.consumers.delete(record);
    return consumer.stop();
  }

  private apply(change: BindingChange): void {
    const key = `${Buffer.byteLength(change.queue)}:${change.queue}${change.pattern}`;
    if (change.type === 'bind') {
      if (this.known.has(key)) return;
      this.known.add(key);
      this.trie.add(change.pattern, change.queue);
    } else if (this.known.delete(key)) {
      this.trie.remove(change.pattern, change.queue);
    }
  }
}
