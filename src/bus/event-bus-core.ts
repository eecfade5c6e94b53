import type { Logger } from 'pino';
import type { Backend, PortSubscription } from '../backends/ports.js';
import { watchKind } from '../backends/watch-kind.js';
import type { Codec } from '../codec/codec.js';
import { isPlugboardError, TimeoutError, ValidationError } from '../errors/errors.js';
import { assertName, assertPattern } from '../util/names.js';
import type { Deadlines } from '../util/deadlines.js';
import { isThenable } from '../util/thenable.js';
import type { WorkTracker } from '../util/work-tracker.js';
import { DurableConsumer, durableQueueName } from './durable-consumer.js';
import { decodeFrame, type EventFrame } from './event-frame.js';
import { LazyEventMeta } from './event-meta.js';
import { MatchCache } from './match-cache.js';
import { PatternTrie } from './pattern-trie.js';
import { RemoteGroupTable } from './remote-groups.js';
import {
  compareSubscriptions,
  SubscriptionRecord,
  type CloseReason,
} from './subscription-record.js';
import type { EventHandler, EventMeta, Next, PluginErrorEvent, SubscribeOptions } from './types.js';

export const PLUGIN_ERROR_EVENT = 'plugin.error';
const BROADCAST_TOPIC = 'pb.ev';
const GROUP_TOPIC = 'pb.ev.g';
const GROUP_KIND = 'bus.group';
const BINDINGS_TOPIC = 'pb.ev.bind';
const DURABLE_MAX_ATTEMPTS = 5;
const EMPTY = new Uint8Array(0);
const CACHE_LIMIT = 10_000;
const RESOLVED: Promise<void> = Promise.resolve();
const NOOP_NEXT: Next = () => RESOLVED;

const enum Deliver {
  All,
  Plain,
  Groups,
}

/** One group's members among the subscribers matching an event name. */
interface GroupSlot {
  readonly group: string;
  readonly members: SubscriptionRecord[];
  rr: number;
}

/** Everything needed to dispatch one event name, computed once and cached. */
interface MatchEntry {
  /** All matching local subscribers, in priority then subscription order. */
  readonly subs: SubscriptionRecord[];
  /** Group slots, or undefined when no matching subscriber has a group (the fast path). */
  readonly slots: Map<string, GroupSlot> | undefined;
  /** Some subscriber can see the meta, so the timestamp is taken at publish. */
  readonly seesMeta: boolean;
  /** Some subscriber has no group (takes broadcasts from other nodes). */
  readonly hasPlain: boolean;
}

export interface EventBusCoreOptions {
  backend: Backend;
  codec: Codec;
  deadlines: Deadlines;
  logger: Logger;
  nextId: () => string;
  /** How long a publish waits for one async handler before reporting it and moving on. */
  handlerTimeout: number;
}

/**
 * The per-host event bus shared by every plugin context. Local delivery never serializes: the
 * matching subscribers of an event name are computed once (trie + sort) and cached until the
 * subscriptions change, so a publish is a map lookup and a loop. Other nodes get the event
 * through the transport: one broadcast for plain subscribers, and for each group one direct
 * message to the node whose turn it is.
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
  private readonly remoteGroups = new RemoteGroupTable();
  private readonly groupTurns = new Map<string, number>();
  /** Local (group, pattern) pairs: member count and the announcement in the registry. */
  private readonly announced = new Map<string, { count: number; put: Promise<void> }>();
  private readonly portSubscriptions: PortSubscription[] = [];
  /** Durable queues by the patterns that feed them (every node's bindings). */
  private durableBindings = new PatternTrie<string>();
  private readonly durableConsumers = new Map<SubscriptionRecord, DurableConsumer>();
  private readonly nodeId: string;
  private readonly clustered: boolean;
  private seq = 0;

  constructor(private readonly options: EventBusCoreOptions) {
    this.nodeId = options.backend.nodeId;
    this.clustered = options.backend.clustered;
  }

  /** Load durable bindings and join the cluster's event traffic. */
  async start(): Promise<void> {
    await this.reloadBindings();
    if (!this.clustered) return;
    const { transport, registry } = this.options.backend;
    this.portSubscriptions.push(
      await transport.subscribe(BINDINGS_TOPIC, () => {
        this.reloadBindings().catch((error: unknown) =>
          this.options.logger.warn({ err: error }, 'could not reload durable bindings'),
        );
      }),
      await transport.subscribe(BROADCAST_TOPIC, (payload) => this.receive(payload, false)),
      await transport.subscribe(GROUP_TOPIC, (payload) => this.receive(payload, true)),
      await watchKind(registry, GROUP_KIND, (change) => {
        if (change.type === 'delete') this.remoteGroups.remove(change.id);
        else this.addRemoteGroup(change.record.id, change.record.nodeId, change.record.value);
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.durableConsumers.values()].map((c) => c.stop()));
    const subscriptions = this.portSubscriptions.splice(0);
    await Promise.allSettled(subscriptions.map((s) => s.close()));
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
      this.startDurable(record, group!);
      return record;
    }
    this.trie.add(pattern, record);
    this.invalidate();
    if (group !== undefined) record.ready = this.announce(group, pattern, +1);
    return record;
  }

  /**
   * Publish as `source`. Fast path: no groups, no cluster, sync handlers → no allocation beyond
   * the meta object, and a shared resolved promise is returned.
   */
  publish(source: string, event: string, data: unknown, traceId?: string): Promise<void> {
    // Only valid names are ever cached, so a hit needs no validation.
    const entry = this.cache.get(event) ?? this.lookup(event);
    const meta = new LazyEventMeta(
      event,
      source,
      this.nodeId,
      entry.seesMeta ? Date.now() : undefined,
      this.options.nextId,
      undefined,
      traceId,
    );
    let remote: Promise<void> | undefined;
    let chosen: SubscriptionRecord[] | undefined;
    if (this.clustered || this.durableBindings.size > 0) {
      try {
        chosen = entry.slots === undefined ? undefined : [];
        remote = this.handOff(entry, meta, data, chosen);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (!this.clustered && entry.slots !== undefined) {
      chosen = [];
      for (const slot of entry.slots.values()) chosen.push(nextMember(slot));
    }
    const local = this.dispatch(entry.subs, data, meta, chosen, Deliver.All);
    if (remote === undefined) return local;
    return local === RESOLVED ? remote : Promise.all([local, remote]).then(noop);
  }

  /** Local subscribers of a concrete event name, in chain order. */
  subscribersOf(event: string): readonly SubscriptionRecord[] {
    assertName(event, 'Event name');
    return this.lookup(event).subs;
  }

  /** Report a failed handler as `plugin.error` (unless it was handling `plugin.error`). */
  reportHandlerError(owner: string, meta: EventMeta, error: unknown): void {
    this.options.logger.error(
      { plugin: owner, event: meta.event, err: error },
      'event handler failed',
    );
    if (meta.event === PLUGIN_ERROR_EVENT) return;
    this.publish(
      'host',
      PLUGIN_ERROR_EVENT,
      pluginErrorPayload(owner, meta.event, error),
      meta.traceId,
    ).catch((publishError: unknown) =>
      this.options.logger.error({ err: publishError }, 'could not publish plugin.error'),
    );
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
      if (slot === undefined) slots.set(sub.group, { group: sub.group, members: [sub], rr: 0 });
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
   * node's turn for some groups, whose plain subscribers had the broadcast).
   */
  private dispatch(
    subs: readonly SubscriptionRecord[],
    data: unknown,
    meta: EventMeta,
    chosen: SubscriptionRecord[] | undefined,
    deliver: Deliver,
  ): Promise<void> {
    let pending: Array<Promise<void>> | undefined;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      if (!sub.active) continue;
      if (sub.group === undefined) {
        if (deliver === Deliver.Groups) continue;
      } else if (deliver === Deliver.Plain || chosen?.includes(sub) !== true) continue;
      if (sub.once) sub.end('once');
      let result: unknown;
      try {
        result = sub.handler(data, NOOP_NEXT, meta);
      } catch (error) {
        this.reportHandlerError(sub.owner, meta, error);
        continue;
      }
      if (isThenable(result)) (pending ??= []).push(this.track(sub, result, meta));
    }
    if (pending === undefined) return RESOLVED;
    return pending.length === 1 ? pending[0]! : Promise.all(pending).then(noop);
  }

  /** Wait for one async handler, bounded by the handler timeout; never rejects. */
  private track(
    sub: SubscriptionRecord,
    result: PromiseLike<unknown>,
    meta: EventMeta,
  ): Promise<void> {
    const tracker = sub.tracker;
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
          if (deadline.cancel()) resolve();
        },
        (error: unknown) => {
          tracker.end();
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

  /**
   * Hand the event to the backend: one enqueue per durable queue bound to it, and in a cluster
   * one broadcast plus one direct message per remote group turn. Throws (before anything is
   * sent) when the event cannot be encoded or is too large.
   */
  private handOff(
    entry: MatchEntry,
    meta: LazyEventMeta,
    data: unknown,
    chosen: SubscriptionRecord[] | undefined,
  ): Promise<void> {
    const { transport, queues } = this.options.backend;
    const durable =
      this.durableBindings.size > 0 ? this.durableBindings.match(meta.event) : undefined;
    if (!this.clustered && (durable === undefined || durable.size === 0)) return RESOLVED;
    const frame: EventFrame = {
      e: meta.event,
      d: this.options.codec.encode(data),
      i: meta.id,
      s: meta.source,
      n: this.nodeId,
      t: meta.timestamp,
      tr: meta.traceId,
    };
    const bytes = this.options.codec.encode(frame);
    const sends: Array<Promise<unknown>> = [];
    if (durable !== undefined)
      for (const queue of durable) sends.push(queues.enqueue(queue, bytes));
    if (!this.clustered) return Promise.all(sends).then(noop);
    sends.push(transport.publish(BROADCAST_TOPIC, bytes));
    const remoteGroups =
      this.remoteGroups.size > 0 ? this.remoteGroups.nodesFor(meta.event) : undefined;
    let byNode: Map<string, string[]> | undefined;
    const take = (group: string, localSlot: GroupSlot | undefined): void => {
      const remoteNodes = remoteGroups?.get(group) ?? [];
      const candidates = localSlot !== undefined ? [this.nodeId, ...remoteNodes] : remoteNodes;
      if (candidates.length === 0) return;
      const turn = this.groupTurns.get(group) ?? 0;
      this.groupTurns.set(group, turn + 1);
      const node = candidates[turn % candidates.length]!;
      if (node === this.nodeId) {
        chosen?.push(nextMember(localSlot!));
        return;
      }
      byNode ??= new Map();
      const groups = byNode.get(node);
      if (groups === undefined) byNode.set(node, [group]);
      else groups.push(group);
    };
    if (entry.slots !== undefined) for (const slot of entry.slots.values()) take(slot.group, slot);
    if (remoteGroups !== undefined) {
      for (const group of remoteGroups.keys())
        if (entry.slots?.has(group) !== true) take(group, undefined);
    }
    if (byNode !== undefined) {
      for (const [node, groups] of byNode) {
        // At-most-once for now: a member node that vanished loses its turn's events.
        sends.push(
          transport
            .send(node, GROUP_TOPIC, this.options.codec.encode({ ...frame, g: groups }))
            .catch(noop),
        );
      }
    }
    return Promise.all(sends).then(noop);
  }

  private receive(payload: Uint8Array, grouped: boolean): void {
    const frame = decodeFrame(this.options.codec, payload, this.options.logger);
    if (frame === undefined) return;
    const entry = this.lookup(frame.e);
    let chosen: SubscriptionRecord[] | undefined;
    if (grouped) {
      // This node's turn for the listed groups; a group whose members left meanwhile is dropped
      // (group delivery is at-most-once).
      chosen = [];
      for (const group of Array.isArray(frame.g) ? frame.g : []) {
        const slot = entry.slots?.get(group);
        if (slot !== undefined) chosen.push(nextMember(slot));
      }
      if (chosen.length === 0) return;
    } else if (!entry.hasPlain) {
      return; // nobody here takes broadcasts of this event: skip decoding its data
    }
    let data: unknown;
    try {
      data = this.options.codec.decode(frame.d);
    } catch (error) {
      this.options.logger.warn(
        { err: error, event: frame.e },
        'dropped an event whose data cannot be decoded',
      );
      return;
    }
    const meta = LazyEventMeta.fromFrame(frame, this.options.nextId);
    void this.dispatch(entry.subs, data, meta, chosen, grouped ? Deliver.Groups : Deliver.Plain);
  }

  private detach(record: SubscriptionRecord, _reason: CloseReason): Promise<void> | undefined {
    const consumer = this.durableConsumers.get(record);
    if (consumer !== undefined) {
      // The binding stays: events keep accumulating for the group until someone resumes it.
      this.durableConsumers.delete(record);
      return consumer.stop();
    }
    this.trie.remove(record.pattern, record);
    this.invalidate();
    // Failures are logged by announce() itself.
    if (record.group !== undefined) void this.announce(record.group, record.pattern, -1);
    return undefined;
  }

  private startDurable(record: SubscriptionRecord, group: string): void {
    const { queues, transport } = this.options.backend;
    const queue = durableQueueName(group, record.pattern);
    // Known locally at once, so this node's next publish is already enqueued for it.
    this.durableBindings.add(record.pattern, queue);
    const bound = queues.bind(queue, record.pattern).then(async () => {
      if (this.clustered) await transport.publish(BINDINGS_TOPIC, EMPTY);
    });
    const consumer = new DurableConsumer(record, queue, `${this.nodeId}:${record.id}`, {
      store: queues,
      codec: this.options.codec,
      logger: this.options.logger,
      nextId: this.options.nextId,
      handlerTimeout: this.options.handlerTimeout,
      maxAttempts: DURABLE_MAX_ATTEMPTS,
      report: (owner, meta, error) => this.reportHandlerError(owner, meta, error),
    });
    this.durableConsumers.set(record, consumer);
    record.ready = bound;
    consumer.start(bound);
  }

  private async reloadBindings(): Promise<void> {
    const trie = new PatternTrie<string>();
    for (const { queue, pattern } of await this.options.backend.queues.bindings())
      trie.add(pattern, queue);
    for (const record of this.durableConsumers.keys())
      trie.add(record.pattern, `ev.${record.group!}`);
    this.durableBindings = trie;
  }

  /** Keep the registry's `bus.group` entries in step with local group membership. */
  /**
   * Keep the registry's `bus.group` entries in step with local group membership. Returns the
   * announcement's promise (already handled, so an unawaited failure is only logged).
   */
  private announce(group: string, pattern: string, delta: number): Promise<void> {
    if (!this.clustered) return RESOLVED;
    const key = `${this.nodeId}|${group}|${pattern}`;
    const count = (this.announced.get(key)?.count ?? 0) + delta;
    const { registry } = this.options.backend;
    const logged = (promise: Promise<void>): Promise<void> => {
      promise.catch((error: unknown) =>
        this.options.logger.warn(
          { err: error, group, pattern },
          'could not update group membership in the registry',
        ),
      );
      return promise;
    };
    if (count <= 0) {
      this.announced.delete(key);
      return delta < 0 ? logged(registry.remove(GROUP_KIND, key)) : RESOLVED;
    }
    const existing = this.announced.get(key);
    if (existing !== undefined) {
      existing.count = count;
      return existing.put;
    }
    const put = logged(
      registry.put(GROUP_KIND, key, this.options.codec.encode({ group, pattern })),
    );
    this.announced.set(key, { count, put });
    return put;
  }

  private addRemoteGroup(recordId: string, nodeId: string, value: Uint8Array): void {
    if (nodeId === this.nodeId) return;
    try {
      const { group, pattern } = this.options.codec.decode(value) as {
        group: string;
        pattern: string;
      };
      assertPattern(pattern, 'Event pattern');
      this.remoteGroups.put({ recordId, nodeId, group, pattern });
    } catch (error) {
      this.options.logger.warn({ err: error, recordId }, 'ignored a malformed group entry');
    }
  }
}

/** The `plugin.error` event's payload for a failure of `pluginId` while handling `event`. */
export function pluginErrorPayload(
  pluginId: string,
  event: string,
  error: unknown,
): PluginErrorEvent {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    pluginId,
    event,
    error: error instanceof Error ? error.message : String(error),
    ...(isPlugboardError(error) || typeof code === 'string' ? { code: String(code) } : {}),
    ...(error instanceof Error && error.stack !== undefined ? { stack: error.stack } : {}),
  };
}

function noop(): void {}

function nextMember(slot: GroupSlot): SubscriptionRecord {
  return slot.members[slot.rr++ % slot.members.length]!;
}
