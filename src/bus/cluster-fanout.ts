import type { Logger } from 'pino';
import { clusterBarrier } from '../backends/cluster-barrier.js';
import type { Backend, PortSubscription } from '../backends/ports.js';
import { watchKind } from '../backends/watch-kind.js';
import type { Codec } from '../codec/codec.js';
import { hasErrorCode } from '../errors/errors.js';
import { assertPattern } from '../util/names.js';
import type { DropReporter } from './drop-reporter.js';
import { decodeFrame, type EventFrame } from './event-frame.js';
import { LazyEventMeta } from './event-meta.js';
import { Deliver, type GroupSlot, type MatchEntry } from './match-entry.js';
import { RemoteGroupTable } from './remote-groups.js';
import type { SubscriptionRecord } from './subscription-record.js';
import type { EventMeta } from './types.js';

const BROADCAST_TOPIC = 'pb.ev';
const GROUP_TOPIC = 'pb.ev.g';
const GROUP_KIND = 'bus.group';
/**
 * A member node that refused a direct message stays out of the group rotation until the
 * registry confirms it (a new entry) or removes it, or at most this long (then it is tried again).
 */
const SUSPEND_MS = 5000;
const RESOLVED: Promise<void> = Promise.resolve();

/** What the fan-out needs from the local bus. */
export interface LocalDelivery {
  lookup(event: string): MatchEntry;
  /** The next local member of a group (one rotation per group). */
  nextMember(slot: GroupSlot): SubscriptionRecord;
  dispatch(
    subs: readonly SubscriptionRecord[],
    data: unknown,
    meta: EventMeta,
    chosen: SubscriptionRecord[] | undefined,
    deliver: Deliver,
  ): Promise<void>;
  /** `dispatch` in parity mode: each handler called decodes its own copy of `bytes`. */
  dispatchCopies(
    subs: readonly SubscriptionRecord[],
    bytes: Uint8Array,
    meta: EventMeta,
    chosen: SubscriptionRecord[] | undefined,
    deliver: Deliver,
  ): Promise<void>;
}

export interface ClusterFanoutOptions {
  backend: Backend;
  codec: Codec;
  logger: Logger;
  nextId: () => string;
  drops: DropReporter;
  /** Bound on the cluster barrier behind a group subscription's `ready`. */
  readyTimeout: number;
  /** Parity mode: events from other nodes are decoded once per receiving subscriber. */
  parity?: boolean;
  local: LocalDelivery;
}

/**
 * The bus between nodes: one broadcast per event for plain subscribers, one direct message per
 * group turn that falls on another node, and the enqueues into bound durable queues. Group
 * membership of other nodes comes from the registry's `bus.group` entries; each group has one
 * rotation over its member nodes (this one included). A member node that cannot receive (the
 * transport refuses the send) is taken out of the rotation and its turn goes to the next member,
 * so a group's events are not lost while any member lives.
 */
export class ClusterFanout {
  private readonly remoteGroups = new RemoteGroupTable();
  private readonly groupTurns = new Map<string, number>();
  /** Member nodes that refused a send: node → when they may be tried again. */
  private readonly suspended = new Map<string, number>();
  /** Local (group, pattern) pairs: member count and the announcement (put + barrier). */
  private readonly announced = new Map<string, { count: number; ready: Promise<void> }>();
  private readonly portSubscriptions: PortSubscription[] = [];
  private readonly nodeId: string;
  private readonly clustered: boolean;

  constructor(private readonly options: ClusterFanoutOptions) {
    this.nodeId = options.backend.nodeId;
    this.clustered = options.backend.clustered;
  }

  async start(): Promise<void> {
    if (!this.clustered) return;
    const { transport, registry } = this.options.backend;
    this.portSubscriptions.push(
      await transport.subscribe(BROADCAST_TOPIC, (payload) => this.receive(payload, false)),
      await transport.subscribe(GROUP_TOPIC, (payload) => this.receive(payload, true)),
      await watchKind(registry, GROUP_KIND, (change) => {
        if (change.type === 'delete') {
          this.remoteGroups.remove(change.id);
          this.suspended.delete(change.nodeId);
        } else this.addRemoteGroup(change.record.id, change.record.nodeId, change.record.value);
      }),
    );
  }

  async close(): Promise<void> {
    const subscriptions = this.portSubscriptions.splice(0);
    await Promise.allSettled(subscriptions.map((s) => s.close()));
  }

  /**
   * Hand the event to the backend: one enqueue per durable queue bound to it, and in a cluster
   * one broadcast plus one direct message per remote group turn. Group turns that fall on this
   * node are pushed to `chosen`. Throws (before anything is sent) when the event cannot be
   * encoded or is too large. `encoded`: the data already encoded (parity mode).
   */
  handOff(
    entry: MatchEntry,
    meta: LazyEventMeta,
    data: unknown,
    chosen: SubscriptionRecord[] | undefined,
    durable: ReadonlySet<string> | undefined,
    encoded?: Uint8Array,
  ): Promise<void> {
    if (!this.clustered && (durable === undefined || durable.size === 0)) return RESOLVED;
    const { transport, queues } = this.options.backend;
    const frame: EventFrame = {
      e: meta.event,
      d: encoded ?? this.options.codec.encode(data, 'data'),
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
    const take = (group: string, slot: GroupSlot | undefined): void => {
      const node = this.pick(group, slot !== undefined, remoteGroups?.get(group), undefined);
      if (node === undefined) return;
      if (node === this.nodeId) {
        chosen?.push(this.options.local.nextMember(slot!));
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
      for (const [node, groups] of byNode)
        sends.push(this.sendGroups(node, groups, frame, data, meta, undefined));
    }
    return Promise.all(sends).then(noop);
  }

  /** An event from another node: a broadcast, or this node's turn for the groups in `g`. */
  receive(payload: Uint8Array, grouped: boolean): Promise<void> | undefined {
    const frame = decodeFrame(this.options.codec, payload, this.options.drops);
    if (frame === undefined) return undefined;
    const { local } = this.options;
    const entry = local.lookup(frame.e);
    let chosen: SubscriptionRecord[] | undefined;
    if (grouped) {
      // This node's turn for the listed groups; a group whose members left meanwhile is dropped.
      chosen = [];
      for (const group of frame.g ?? []) {
        const slot = entry.slots?.get(group);
        if (slot !== undefined) chosen.push(local.nextMember(slot));
      }
      if (chosen.length === 0) return undefined;
    } else if (!entry.hasPlain) {
      return undefined; // nobody here takes broadcasts of this event: skip decoding its data
    }
    const deliver = grouped ? Deliver.Groups : Deliver.Plain;
    if (this.options.parity === true) {
      const meta = LazyEventMeta.fromFrame(frame, this.options.nextId);
      return local.dispatchCopies(entry.subs, frame.d, meta, chosen, deliver);
    }
    let data: unknown;
    try {
      data = this.options.codec.decode(frame.d);
    } catch (error) {
      this.options.logger.warn(
        { err: error, event: frame.e },
        'dropped an event whose data cannot be decoded',
      );
      return undefined;
    }
    const meta = LazyEventMeta.fromFrame(frame, this.options.nextId);
    return local.dispatch(entry.subs, data, meta, chosen, deliver);
  }

  /**
   * Keep the registry's `bus.group` entries in step with local group membership. Returns the
   * membership's `ready`: the entry is stored and every live node has applied it (a cluster
   * barrier after the put). Failures are logged here, so an unawaited `ready` is harmless.
   */
  announce(group: string, pattern: string, delta: number): Promise<void> {
    if (!this.clustered) return RESOLVED;
    const key = `${this.nodeId}|${group}|${pattern}`;
    const count = (this.announced.get(key)?.count ?? 0) + delta;
    const { backend, logger, readyTimeout } = this.options;
    const logged = (promise: Promise<void>): Promise<void> => {
      promise.catch((error: unknown) =>
        logger.warn(
          { err: error, group, pattern },
          'could not update group membership across the cluster',
        ),
      );
      return promise;
    };
    if (count <= 0) {
      this.announced.delete(key);
      return delta < 0 ? logged(backend.registry.remove(GROUP_KIND, key)) : RESOLVED;
    }
    const existing = this.announced.get(key);
    if (existing !== undefined) {
      existing.count = count;
      return existing.ready;
    }
    const ready = logged(
      backend.registry
        .put(GROUP_KIND, key, this.options.codec.encode({ group, pattern }))
        .then(() => clusterBarrier(backend, Date.now() + readyTimeout)),
    );
    this.announced.set(key, { count, ready });
    return ready;
  }

  /**
   * The node whose turn it is in `group`'s rotation: this one (if it has a member) and the
   * remote member nodes, skipping nodes in `exclude` and, while others remain, suspended ones.
   */
  private pick(
    group: string,
    hasLocal: boolean,
    remoteNodes: readonly string[] | undefined,
    exclude: ReadonlySet<string> | undefined,
  ): string | undefined {
    let candidates: readonly string[] = remoteNodes ?? [];
    if (this.suspended.size > 0 || exclude !== undefined) {
      const now = Date.now();
      const usable = (node: string): boolean => {
        if (exclude?.has(node) === true) return false;
        const until = this.suspended.get(node);
        if (until === undefined) return true;
        if (until > now) return false;
        this.suspended.delete(node);
        return true;
      };
      const live = candidates.filter(usable);
      // Only suspended members left (and no local one): try them rather than drop the event.
      candidates =
        live.length > 0 || hasLocal
          ? live
          : candidates.filter((node) => exclude?.has(node) !== true);
    }
    const count = candidates.length + (hasLocal ? 1 : 0);
    if (count === 0) return undefined;
    const turn = this.groupTurns.get(group) ?? 0;
    this.groupTurns.set(group, turn + 1);
    const index = turn % count;
    if (hasLocal) return index === 0 ? this.nodeId : candidates[index - 1];
    return candidates[index];
  }

  /**
   * Send `groups`' turns to `node`. When the transport refuses (the node cannot receive: it
   * died or lost its connection), suspend the node and give those turns to the next members.
   */
  private sendGroups(
    node: string,
    groups: string[],
    frame: EventFrame,
    data: unknown,
    meta: LazyEventMeta,
    tried: Set<string> | undefined,
  ): Promise<void> {
    const payload = this.options.codec.encode({ ...frame, g: groups });
    return this.options.backend.transport.send(node, GROUP_TOPIC, payload).then(noop, (error) => {
      if (!hasErrorCode(error, 'PB_SERVICE_UNAVAILABLE')) {
        this.options.logger.warn(
          { err: error, node, groups, event: frame.e },
          'could not hand group events to a member node',
        );
        return undefined;
      }
      this.suspended.set(node, Date.now() + SUSPEND_MS);
      const excluded = tried ?? new Set<string>();
      excluded.add(node);
      return this.reroute(groups, frame, data, meta, excluded);
    });
  }

  /** Give `groups`' turns to members on nodes not in `tried` (this node included). */
  private reroute(
    groups: string[],
    frame: EventFrame,
    data: unknown,
    meta: LazyEventMeta,
    tried: Set<string>,
  ): Promise<void> {
    const { local } = this.options;
    const entry = local.lookup(meta.event);
    const remoteGroups = this.remoteGroups.nodesFor(meta.event);
    const chosen: SubscriptionRecord[] = [];
    const byNode = new Map<string, string[]>();
    for (const group of groups) {
      const slot = entry.slots?.get(group);
      const node = this.pick(group, slot !== undefined, remoteGroups.get(group), tried);
      if (node === undefined) {
        this.options.logger.warn(
          { group, event: meta.event },
          'no live member left for a group event; it is lost',
        );
      } else if (node === this.nodeId) chosen.push(local.nextMember(slot!));
      else {
        const list = byNode.get(node);
        if (list === undefined) byNode.set(node, [group]);
        else list.push(group);
      }
    }
    const pending: Array<Promise<void>> = [];
    for (const [node, list] of byNode)
      pending.push(this.sendGroups(node, list, frame, data, meta, tried));
    if (chosen.length > 0) {
      pending.push(
        this.options.parity === true
          ? local.dispatchCopies(entry.subs, frame.d, meta, chosen, Deliver.Groups)
          : local.dispatch(entry.subs, data, meta, chosen, Deliver.Groups),
      );
    }
    return Promise.all(pending).then(noop);
  }

  private addRemoteGroup(recordId: string, nodeId: string, value: Uint8Array): void {
    if (nodeId === this.nodeId) return;
    // The registry confirms the node: back in the rotation.
    this.suspended.delete(nodeId);
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

function noop(): void {}
