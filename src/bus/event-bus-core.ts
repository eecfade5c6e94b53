import type { Logger } from 'pino';
import type { Backend } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { isPlugboardError, TimeoutError, ValidationError } from '../errors/errors.js';
import { assertName, assertPattern } from '../util/names.js';
import type { Deadlines } from '../util/deadlines.js';
import type { EventSeries } from '../metrics/series.js';
import { isThenable } from '../util/thenable.js';
import type { WorkTracker } from '../util/work-tracker.js';
import { ClusterFanout } from './cluster-fanout.js';
import { SpanKind, startSpan, tracingOn, type WorkSpan } from '../trace/spans.js';
import { currentTrace, enterTrace, exitTrace, explicitTrace } from './current-trace.js';
import { DropReporter } from './drop-reporter.js';
import { DurableBindings } from './durable-bindings.js';
import { EventObservers, type EventObserver } from './event-observers.js';
import { LazyEventMeta } from './event-meta.js';
import { MatchCache } from './match-cache.js';
import { Deliver, type GroupSlot, type MatchEntry } from './match-entry.js';
import { PatternTrie } from './pattern-trie.js';
import {
  compareSubscriptions,
  SubscriptionRecord,
  type CloseReason,
} from './subscription-record.js';
import type { EventHandler, EventMeta, Next, PluginErrorEvent, SubscribeOptions } from './types.js';

export const PLUGIN_ERROR_EVENT = 'plugin.error';
const CACHE_LIMIT = 10_000;
const RESOLVED: Promise<void> = Promise.resolve();
const NOOP_NEXT: Next = () => RESOLVED;
/** Default bound on the cluster barrier behind `Subscription.ready`. */
const READY_TIMEOUT_MS = 10_000;

export interface EventBusCoreOptions {
  backend: Backend;
  codec: Codec;
  deadlines: Deadlines;
  logger: Logger;
  nextId: () => string;
  /** How long a publish waits for one async handler before reporting it and moving on. */
  handlerTimeout: number;
  /** How long `Subscription.ready` waits for every live node to confirm (default 10 s). */
  readyTimeout?: number;
  /**
   * Parity mode: local subscribers get the data round-tripped through the codec (encoded once
   * per publish, decoded once per receiving subscriber), exactly as a subscriber on another node
   * would. Off: the published object itself, by reference. Default false.
   */
  parity?: boolean;
  /** Counts publications and deliveries per event name and times handlers (none: no cost). */
  metrics?: { event(name: string): EventSeries };
}

/**
 * The per-host event bus shared by every plugin context: local dispatch. Local delivery never
 * serializes unless parity mode is on (then every subscriber decodes its own copy): the matching subscribers of an event name are computed once (trie + sort) and
 * cached until the subscriptions change, so a publish is a map lookup and a loop. Other nodes
 * and durable queues get the event through {@link ClusterFanout}; durable subscriptions and the
 * cluster's bindings are kept by {@link DurableBindings}. Group members take turns per group
 * (one rotation per group, whatever the event name).
 */
export class EventBusCore {
  private readonly trie = new PatternTrie<SubscriptionRecord>();
  /** Dispatch entries by event name (bounded; evicts rarely used names when full). */
  private readonly cache = new MatchCache<SubscriptionRecord, MatchEntry>(
    this.trie,
    compareSubscriptions,
    (subs) => this.match(subs),
    CACHE_LIMIT,
  );
  /** Next local member's turn, per group. */
  private readonly localTurns = new Map<string, number>();
  private readonly fanout: ClusterFanout;
  private readonly durable: DurableBindings;
  private readonly drops: DropReporter;
  private readonly observers: EventObservers;
  private readonly nodeId: string;
  private readonly clustered: boolean;
  private readonly parity: boolean;
  private seq = 0;

  constructor(private readonly options: EventBusCoreOptions) {
    this.nodeId = options.backend.nodeId;
    this.clustered = options.backend.clustered;
    this.parity = options.parity === true;
    this.drops = new DropReporter(
      options.logger,
      'dropped malformed event frames from the backend',
    );
    this.observers = new EventObservers(options.logger);
    const readyTimeout = options.readyTimeout ?? READY_TIMEOUT_MS;
    this.fanout = new ClusterFanout({
      backend: options.backend,
      codec: options.codec,
      logger: options.logger,
      nextId: options.nextId,
      drops: this.drops,
      readyTimeout,
      parity: this.parity,
      local: {
        lookup: (event) => this.lookup(event),
        nextMember: (slot) => this.nextMember(slot),
        dispatch: (subs, data, meta, chosen, deliver) =>
          this.dispatch(subs, data, meta, chosen, deliver),
        dispatchCopies: (subs, bytes, meta, chosen, deliver) =>
          this.dispatch(subs, undefined, meta, chosen, deliver, bytes),
        observers: this.observers,
      },
    });
    this.durable = new DurableBindings({
      backend: options.backend,
      codec: options.codec,
      logger: options.logger,
      nextId: options.nextId,
      handlerTimeout: options.handlerTimeout,
      deadlines: options.deadlines,
      readyTimeout,
      drops: this.drops,
      report: (owner, meta, error) => this.reportHandlerError(owner, meta, error),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    });
  }

  /** Load and watch durable bindings and join the cluster's event traffic. */
  async start(): Promise<void> {
    await this.durable.start();
    await this.fanout.start();
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.durable.close(), this.fanout.close()]);
    this.drops.close();
  }

  /** Malformed frames dropped so far (for tests and health). */
  get droppedFrames(): number {
    return this.drops.total;
  }

  subscribe(
    owner: string,
    tracker: WorkTracker,
    pattern: string,
    handler: EventHandler,
    options: SubscribeOptions | undefined,
    once: boolean,
  ): SubscriptionRecord {
    assertPattern(pattern, 'Event pattern');
    if (typeof handler !== 'function') {
      throw new ValidationError(
        `The handler for "${pattern}" must be a function, got ${typeof handler}.`,
        {
          details: { pattern },
        },
      );
    }
    const group = options?.group;
    if (group !== undefined) assertName(group, 'Group name');
    const priority = options?.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new ValidationError(`Priority for "${pattern}" must be a finite number.`, {
        details: { priority },
      });
    }
    const durable = options?.durable === true;
    if (durable && (group === undefined || once)) {
      throw new ValidationError(
        `A durable subscription to "${pattern}" needs a group (its queue's name) and cannot be once().`,
        { details: { pattern } },
      );
    }
    const seq = ++this.seq;
    const record = new SubscriptionRecord(
      `${this.nodeId}:s${seq}`,
      seq,
      owner,
      pattern,
      handler,
      group,
      priority,
      once,
      tracker,
      (r, reason) => this.detach(r, reason),
    );
    if (durable) {
      this.durable.subscribe(record, group!);
      return record;
    }
    this.trie.add(pattern, record);
    this.invalidate();
    if (group !== undefined) record.ready = this.fanout.announce(group, pattern, +1);
    return record;
  }

  /**
   * Publish as `source`. Never throws: a bad name or an unencodable event rejects. Fast path: no
   * groups, no cluster, sync handlers → no allocation beyond the meta object, and a shared
   * resolved promise is returned.
   */
  publish(source: string, event: string, data: unknown, traceId?: string): Promise<void> {
    // A hit is one map lookup; only a miss (which validates the name) and parity mode (which
    // encodes the data once, so an unencodable or too-large payload rejects before any handler
    // runs, as on a clustered backend) may reject.
    let entry = this.cache.get(event);
    let bytes: Uint8Array | undefined;
    if (entry === undefined || this.parity) {
      try {
        entry ??= this.lookup(event);
        if (this.parity) bytes = this.options.codec.encode(data, 'data');
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const series = this.options.metrics?.event(event);
    if (series !== undefined) series.published++;
    // A publish from inside a running handler continues that handler's trace.
    const parent = traceId === undefined ? currentTrace() : explicitTrace(traceId);
    const span = tracingOn()
      ? startSpan(`${event} publish`, SpanKind.PRODUCER, parent, {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'publish',
          'messaging.destination.name': event,
          'plugboard.plugin': source,
        })
      : undefined;
    const meta = new LazyEventMeta(
      event,
      source,
      this.nodeId,
      entry.seesMeta ? Date.now() : undefined,
      this.options.nextId,
      undefined,
      span === undefined ? parent?.traceId : span.traceId,
    );
    if (this.observers.size > 0) this.observers.notify(meta, () => data);
    if (span !== undefined) {
      meta.spanId = span.spanId;
      const published = this.deliverAll(entry, meta, data, bytes, series);
      span.endWhen(published);
      return published;
    }
    return this.deliverAll(entry, meta, data, bytes, series);
  }

  /** Hand a publication to the cluster and durable queues, and dispatch it locally. */
  private deliverAll(
    entry: MatchEntry,
    meta: LazyEventMeta,
    data: unknown,
    bytes: Uint8Array | undefined,
    series: EventSeries | undefined,
  ): Promise<void> {
    const event = meta.event;
    let remote: Promise<void> | undefined;
    let chosen: SubscriptionRecord[] | undefined;
    if (this.clustered || this.durable.size > 0) {
      try {
        chosen = entry.slots === undefined ? undefined : [];
        remote = this.fanout.handOff(
          entry,
          meta,
          data,
          chosen,
          this.durable.queuesFor(event),
          bytes,
        );
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (!this.clustered && entry.slots !== undefined) {
      chosen = [];
      for (const slot of entry.slots.values()) chosen.push(this.nextMember(slot));
    }
    const local = this.dispatch(entry.subs, data, meta, chosen, Deliver.All, bytes, series);
    if (remote === undefined) return local;
    return local === RESOLVED ? remote : Promise.all([local, remote]).then(noop);
  }

  /**
   * Be told of every event this node publishes or receives from another node (see
   * {@link EventObserver}); returns a function that stops it.
   */
  observe(observer: EventObserver): () => void {
    return this.observers.add(observer);
  }

  /** Local subscribers of a concrete event name, in chain order. */
  subscribersOf(event: string): readonly SubscriptionRecord[] {
    assertName(event, 'Event name');
    return this.lookup(event).subs;
  }

  /** Report a failed handler as `plugin.error` (unless it was handling `plugin.error`). */
  reportHandlerError(owner: string, meta: EventMeta, error: unknown): void {
    this.reportFailure(owner, meta.event, meta.traceId, error);
  }

  /**
   * Log a failure of plugin `owner` in `event` (an event name, or what failed: `timer`,
   * `queue.<name>`, ...) and publish it as `plugin.error`, on the failed work's trace.
   */
  reportFailure(owner: string, event: string, traceId: string, error: unknown): void {
    this.options.logger.error({ plugin: owner, event, traceId, err: error }, 'plugin code failed');
    if (event === PLUGIN_ERROR_EVENT) return;
    this.publishFailure(owner, event, traceId, error).catch((publishError: unknown) =>
      this.options.logger.error({ err: publishError }, 'could not publish plugin.error'),
    );
  }

  /** Publish `plugin.error` for a failure already logged by the caller, on trace `traceId`. */
  publishFailure(owner: string, event: string, traceId: string, error: unknown): Promise<void> {
    const payload = pluginErrorPayload(owner, event, error, traceId, this.nodeId);
    return this.publish('host', PLUGIN_ERROR_EVENT, payload, traceId);
  }

  get subscriptionCount(): number {
    return this.trie.size;
  }

  /**
   * The dispatch entry of an event name (validated on a miss). Names matching the same patterns
   * share one entry, so group turns rotate across all of them.
   */
  private lookup(event: string): MatchEntry {
    return this.cache.lookup(event);
  }

  /** The dispatch entry for matching subscribers already in priority, then subscription order. */
  private match(subs: SubscriptionRecord[]): MatchEntry {
    let slots: Map<string, GroupSlot> | undefined;
    let seesMeta = false;
    let hasPlain = false;
    for (const sub of subs) {
      if (sub.seesMeta) seesMeta = true;
      if (sub.group === undefined) {
        hasPlain = true;
        continue;
      }
      slots ??= new Map();
      const slot = slots.get(sub.group);
      if (slot === undefined) slots.set(sub.group, { group: sub.group, members: [sub] });
      else slot.members.push(sub);
    }
    return { subs, slots, seesMeta, hasPlain };
  }

  /** Forget every cached dispatch entry (the subscriptions changed). */
  private invalidate(): void {
    this.cache.clear();
  }

  /**
   * Call the handlers of `subs` in order. Group members are called only when in `chosen`
   * (computed per publication, so a nested publish cannot disturb it). `Deliver.Plain` skips
   * group members (a broadcast from another node); `Deliver.Groups` skips plain subscribers (this
   * node's turn for some groups, whose plain subscribers had the broadcast). With `copyFrom`
   * (parity mode), each handler gets its own decoded copy of those bytes instead of `data`.
   */
  private dispatch(
    subs: readonly SubscriptionRecord[],
    data: unknown,
    meta: EventMeta,
    chosen: SubscriptionRecord[] | undefined,
    deliver: Deliver,
    copyFrom?: Uint8Array,
    series = this.options.metrics?.event(meta.event),
  ): Promise<void> {
    let pending: Array<Promise<void>> | undefined;
    // One dispatch in SAMPLE_EVERY times its first handler; deliveries are added up once.
    let delivered = 0;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      if (!sub.active) continue;
      if (sub.group === undefined) {
        if (deliver === Deliver.Groups) continue;
      } else if (deliver === Deliver.Plain || chosen?.includes(sub) !== true) continue;
      if (copyFrom !== undefined) {
        // Parity mode: each handler decodes its own copy, as across the wire.
        try {
          data = this.options.codec.decode(copyFrom);
        } catch (error) {
          this.options.logger.warn(
            { err: error, event: meta.event },
            'dropped an event whose data cannot be decoded',
          );
          break;
        }
      }
      if (sub.once) sub.end('once');
      let result: unknown;
      // 0: not timed.
      const started = delivered++ === 0 && series?.sample() === true ? performance.now() : 0;
      const span = tracingOn() ? deliverySpan(sub, meta) : undefined;
      const previous = enterTrace(span ?? meta);
      try {
        result = sub.handler(data, NOOP_NEXT, meta);
      } catch (error) {
        span?.end(true, error);
        this.reportHandlerError(sub.owner, meta, error);
        continue;
      } finally {
        exitTrace(previous);
      }
      if (isThenable(result)) {
        span?.endWhen(result);
        (pending ??= []).push(
          this.track(sub, result, meta, started === 0 ? undefined : series, started),
        );
      } else {
        span?.end();
        if (started !== 0) series!.latency.observe((performance.now() - started) / 1000);
      }
    }
    if (series !== undefined) series.delivered += delivered;
    if (pending === undefined) return RESOLVED;
    return pending.length === 1 ? pending[0]! : Promise.all(pending).then(noop);
  }

  /** Wait for one async handler, bounded by the handler timeout; never rejects. */
  private track(
    sub: SubscriptionRecord,
    result: PromiseLike<unknown>,
    meta: EventMeta,
    timed?: EventSeries,
    started = 0,
  ): Promise<void> {
    const tracker = sub.tracker;
    const settled = (): void => timed?.latency.observe((performance.now() - started) / 1000);
    tracker.begin();
    return new Promise<void>((resolve) => {
      const timeout = this.options.handlerTimeout;
      const deadline = this.options.deadlines.add(timeout, () => {
        this.reportHandlerError(
          sub.owner,
          meta,
          new TimeoutError(
            `Handler of plugin "${sub.owner}" for "${meta.event}" did not settle within ${timeout} ms; the publish stopped waiting for it.`,
            { details: { pluginId: sub.owner, event: meta.event, timeout } },
          ),
        );
        resolve();
      });
      result.then(
        () => {
          tracker.end();
          settled();
          if (deadline.cancel()) resolve();
        },
        (error: unknown) => {
          tracker.end();
          settled();
          if (deadline.cancel()) {
            this.reportHandlerError(sub.owner, meta, error);
            resolve();
          } else {
            // Already reported as timed out; the late failure is still worth a log line.
            this.options.logger.error(
              { plugin: sub.owner, event: meta.event, err: error },
              'event handler failed after its timeout',
            );
          }
        },
      );
    });
  }

  /** The group's next local member: one rotation per group, whatever the event name. */
  private nextMember(slot: GroupSlot): SubscriptionRecord {
    const turn = this.localTurns.get(slot.group) ?? 0;
    this.localTurns.set(slot.group, turn + 1);
    return slot.members[turn % slot.members.length]!;
  }

  private detach(record: SubscriptionRecord, _reason: CloseReason): Promise<void> | undefined {
    const stopping = this.durable.detach(record);
    if (stopping !== undefined) return stopping;
    this.trie.remove(record.pattern, record);
    this.invalidate();
    // Failures are logged by announce() itself.
    if (record.group !== undefined) void this.fanout.announce(record.group, record.pattern, -1);
    return undefined;
  }
}

const MESSAGING_SYSTEM = 'plugboard';

/** The span of one handler's delivery of an event (a child of the publish span). */
function deliverySpan(sub: SubscriptionRecord, meta: EventMeta): WorkSpan | undefined {
  return startSpan(`${meta.event} process`, SpanKind.CONSUMER, meta, {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.operation.type': 'process',
    'messaging.destination.name': meta.event,
    'messaging.message.id': meta.id,
    'plugboard.plugin': sub.owner,
    ...(sub.group === undefined ? {} : { 'messaging.consumer.group.name': sub.group }),
  });
}

/**
 * The `plugin.error` event's payload for a failure of `pluginId` while handling `event`, on trace
 * `traceId`, on node `nodeId`.
 */
export function pluginErrorPayload(
  pluginId: string,
  event: string,
  error: unknown,
  traceId: string,
  nodeId: string,
): PluginErrorEvent {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    pluginId,
    event,
    traceId,
    nodeId,
    error: error instanceof Error ? error.message : String(error),
    ...(isPlugboardError(error) || typeof code === 'string' ? { code: String(code) } : {}),
    ...(error instanceof Error && error.stack !== undefined ? { stack: error.stack } : {}),
  };
}

function noop(): void {}
