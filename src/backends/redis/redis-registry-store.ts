import type { Logger } from 'pino';
import { BackendUnavailableError, ValidationError } from '../../errors/errors.js';
import type {
  PortSubscription,
  RegistryListener,
  RegistryRecord,
  RegistryStore,
} from '../ports.js';
import { wasNotSent, type CommandRunner } from './connection.js';
import { decodeEntry, encodeEntry, encodePutChange, MAX_NAME_BYTES } from './entry-codec.js';
import type { ClusterMac } from './cluster-mac.js';
import { isReplyError, type BackendFaults } from './faults.js';
import { ownedMember, type RedisKeys } from './keys.js';
import {
  evalScript,
  rawCommand,
  SCRIPT_CODES,
  scriptError,
  type LuaScript,
  type ScriptName,
} from './scripts.js';
import {
  RegistryWatches,
  type ChangeSource,
  type LoggedChange,
  type LogPosition,
  type Snapshot,
} from './registry-watches.js';
import type { SubscriptionHub } from './subscriptions.js';

/**
 * With a cluster secret, each node puts a sealed entry of this kind (id: its node id) when it
 * joins: the live nodes are the owners of those that check, so a node with another secret (or a
 * node id written into the liveness set by hand) is not counted as a member.
 */
export const MEMBER_KIND = 'pb.members';

/** Lapsed nodes reaped per round at most. */
const REAP_BATCH = 50;
/** Nodes whose reaping failed are skipped for a while; at most this many are remembered. */
const MAX_REAP_FAILURES = 1000;
/** After this many failed attempts a node is removed whatever its owned set holds. */
const REAP_ATTEMPTS = 3;
/** First wait before a node whose reaping failed is tried again (doubles each time). */
const REAP_RETRY_MS = 1000;
/** Entries removed per script call at most, so one call never blocks Redis for long. */
const REMOVE_BATCH = 500;

/** A node whose reaping failed: when to try again, and how often it failed. */
interface ReapFailure {
  readonly attempts: number;
  readonly retryAt: number;
}

/** How a removal ended: the node is gone, it is live again, or it still owns entries. */
type Removal = 'gone' | 'live' | 'stuck';

interface OwnEntry {
  readonly kind: string;
  readonly id: string;
  readonly value: Uint8Array;
}

/**
 * The registry port over Redis: one hash per kind, one set of owned entries per node, one
 * sorted set of node liveness deadlines (Redis TIME), and one change channel per kind fed by
 * the scripts themselves. This node keeps a copy of its own entries so that it can put them
 * again whenever Redis no longer knows it (reaped after a stall, or a Redis restart).
 */
export class RedisRegistryStore implements RegistryStore {
  private readonly own = new Map<string, OwnEntry>();
  private readonly watches: RegistryWatches;
  private readonly reapFailures = new Map<string, ReapFailure>();
  /** A rejoin's puts did not all succeed: the next heartbeat puts every entry again. */
  private rejoinOwed = false;
  /** Rejoins begun so far. */
  private rejoins = 0;
  private closed = false;

  constructor(
    private readonly nodeId: string,
    private readonly keys: RedisKeys,
    private readonly runner: CommandRunner,
    hub: SubscriptionHub,
    private readonly scripts: Record<ScriptName, LuaScript>,
    private readonly livenessTtl: number,
    private readonly logger: Logger,
    private readonly faults: BackendFaults,
    /** Seals this node's entries and checks the others' (see `clusterSecret`). */
    private readonly cluster?: ClusterMac,
  ) {
    const source: ChangeSource = {
      snapshot: (kind) => this.snapshot(kind),
      changes: (kind, after, count) => this.changes(kind, after, count),
      last: (kind) => this.last(kind),
      ...(cluster === undefined ? {} : { open: (record: RegistryRecord) => this.open(record) }),
    };
    this.watches = new RegistryWatches(
      hub,
      (kind) => keys.changeChannel(kind),
      source,
      logger,
      faults,
    );
  }

  async put(kind: string, id: string, value: Uint8Array): Promise<void> {
    this.assertOpen();
    validateName('kind', kind);
    validateName('id', id);
    const entry: OwnEntry = { kind, id, value: new Uint8Array(value) };
    const member = ownedMember(kind, id);
    const previous = this.own.get(member);
    this.own.set(member, entry);
    let result: number;
    try {
      result = await this.putEntry(entry);
    } catch (error) {
      // Never sent: forget it so a later rejoin does not resurrect it. (A put that timed out
      // may still be applied when Redis answers, so it stays and is put again on rejoin.)
      if (wasNotSent(error) && this.own.get(member) === entry) {
        if (previous === undefined) this.own.delete(member);
        else this.own.set(member, previous);
      }
      throw error;
    }
    if (result === SCRIPT_CODES.nodeNotLive) {
      // Redis forgot this node (stall past the TTL, or a restart): rejoin, which puts every
      // entry of this node again, this one included.
      await this.heartbeat();
    } else if (result < 0) {
      throw scriptError(this.scripts.putEntry, result, { kind, id });
    }
  }

  async remove(kind: string, id: string): Promise<void> {
    this.assertOpen();
    const member = ownedMember(kind, id);
    this.own.delete(member);
    const frame = deleteChange(kind, id, this.nodeId);
    await this.script(
      'removeEntry',
      `remove registry entry ${kind}/${id}`,
      [this.keys.entries(kind), this.keys.owned(this.nodeId), this.keys.changeLog(kind)],
      [id, this.nodeId, member, this.keys.changeChannel(kind), frame],
    );
  }

  /** Every live entry of `kind`; malformed entries and a key of the wrong type are skipped and counted. */
  async list(kind: string): Promise<RegistryRecord[]> {
    this.assertOpen();
    return (await this.snapshot(kind)).records;
  }

  /** Every live entry of `kind`, and the position of the newest change in its log, atomically. */
  private async snapshot(kind: string): Promise<Snapshot> {
    const [epoch, seq, skipped, ...flat] = (await this.script(
      'listEntries',
      `list registry entries of ${kind}`,
      [this.keys.entries(kind), this.keys.nodes, this.keys.changeLog(kind)],
      [],
    )) as [Buffer, number, number, ...Buffer[]];
    const at: LogPosition = { epoch: epoch.toString('latin1'), seq };
    if (skipped < 0) {
      this.faults.record('wrongTypeKey', { key: this.keys.entries(kind) });
      return { records: [], ...at };
    }
    this.faults.record('malformedEntry', { kind }, undefined, skipped);
    const records: RegistryRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const record = this.record(kind, flat[i]!.toString(), flat[i + 1]!);
      if (record !== undefined) records.push(record);
    }
    return { records, ...at };
  }

  /** Logged changes of `kind` after position `after`, oldest first (any later epoch included). */
  private async changes(kind: string, after: LogPosition, count: number): Promise<LoggedChange[]> {
    const log = this.keys.changeLog(kind);
    const start = after.epoch === '' ? '-' : `${after.epoch}-${after.seq + 1}`;
    let entries: Array<[Buffer, Buffer[]]>;
    try {
      // Written at once (no auto-pipelining): see RegistryWatches.read on ordering.
      entries = (await this.runner.run(`read registry changes of ${kind}`, (client) =>
        rawCommand(client, 'xrange', [log, start, '+', 'COUNT', count]),
      )) as Array<[Buffer, Buffer[]]>;
    } catch (error) {
      if (!isReplyError(error)) throw error;
      // Not a stream (corrupt or forged): the next change replaces it; watchers list again.
      this.faults.record('wrongTypeKey', { key: log }, error);
      return [{ epoch: '', seq: Number.NaN, frame: Buffer.alloc(0) }];
    }
    return entries.map(([id, fields]) => ({
      ...logPosition(id),
      frame: fields[0]?.toString() === 'f' && fields[1] !== undefined ? fields[1] : Buffer.alloc(0),
    }));
  }

  /** Position of the newest logged change of `kind` ('' and 0: none, or not a stream). */
  private async last(kind: string): Promise<LogPosition> {
    const log = this.keys.changeLog(kind);
    try {
      const [last] = await this.runner.run(`read the last registry change of ${kind}`, (client) =>
        client.xrevrangeBuffer(log, '+', '-', 'COUNT', 1),
      );
      return last === undefined ? { epoch: '', seq: 0 } : logPosition(last[0]);
    } catch (error) {
      if (!isReplyError(error)) throw error;
      return { epoch: '', seq: 0 };
    }
  }

  private record(kind: string, id: string, entry: Buffer): RegistryRecord | undefined {
    let record: RegistryRecord;
    try {
      const { nodeId, value } = decodeEntry(entry);
      record = { kind, id, nodeId, value };
    } catch (error) {
      this.faults.record('malformedEntry', { kind, id }, error);
      return undefined;
    }
    return this.cluster === undefined ? record : this.open(record);
  }

  /** `record` with its value unsealed, or undefined (counted) when its MAC does not check. */
  private open(record: RegistryRecord): RegistryRecord | undefined {
    const value = this.cluster!.openEntry(record.kind, record.id, record.nodeId, record.value);
    if (value === undefined) {
      this.faults.record('forgedEntry', {
        kind: record.kind,
        id: record.id,
        nodeId: record.nodeId,
      });
      return undefined;
    }
    return { ...record, value };
  }

  async watch(kind: string, listener: RegistryListener): Promise<PortSubscription> {
    this.assertOpen();
    return this.watches.watch(kind, listener);
  }

  /** After the subscriber reconnected: repair watchers for changes that passed meanwhile. */
  resyncWatchers(): Promise<void> {
    return this.watches.resync();
  }

  /** With a cluster secret: prove membership with a sealed entry (see {@link MEMBER_KIND}). */
  async announceMember(): Promise<void> {
    if (this.cluster !== undefined) await this.put(MEMBER_KIND, this.nodeId, new Uint8Array(0));
  }

  async liveNodes(): Promise<string[]> {
    this.assertOpen();
    if (this.cluster !== undefined) {
      // Live owners of membership entries that check (a forged one is left out and counted).
      const members = await this.list(MEMBER_KIND);
      return members.filter((r) => r.id === r.nodeId).map((r) => r.nodeId);
    }
    const ids = (await this.script(
      'listNodes',
      'list live nodes',
      [this.keys.nodes],
      [],
    )) as Buffer[];
    return ids.map((id) => id.toString());
  }

  /**
   * Prove this node is alive; if Redis had forgotten it, put all of its entries again. A rejoin
   * whose puts did not all succeed is owed: every later heartbeat puts all entries again until
   * one rejoin succeeds (Redis already knows the node again by then, so its answer alone would
   * never say so). Resolves with false when the node had to rejoin.
   */
  async heartbeat(): Promise<boolean> {
    const live = await this.script(
      'refreshNode',
      'refresh node liveness',
      [this.keys.nodes],
      [this.nodeId, this.livenessTtl],
    );
    if (live === 1 && !this.rejoinOwed) return true;
    this.rejoinOwed = true;
    const rejoin = ++this.rejoins;
    if (this.own.size > 0)
      this.logger.info(
        { entries: this.own.size },
        "Rejoined the Redis registry; putting this node's entries again",
      );
    const results = await Promise.allSettled(
      [...this.own.values()].map((entry) => this.putEntry(entry)),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    // A rejoin begun later puts every entry too; it clears the debt when it succeeds.
    if (rejoin === this.rejoins) this.rejoinOwed = false;
    return false;
  }

  /**
   * Remove nodes that are not live (lapsed, or with a forged deadline), with their entries
   * (watchers get deletes). Poisoned state never stalls it: unparsable owned-set members are
   * dropped and counted; a node whose reaping fails (a script error) is skipped with backoff,
   * so the next nodes are reaped, and after {@link REAP_ATTEMPTS} failures it is removed
   * whatever its owned set holds (its entries left behind are hidden: their owner is gone).
   * Connection trouble ends the round (it is retried on the next).
   */
  async reap(): Promise<number> {
    const now = Date.now();
    let skipped = 0;
    for (const failure of this.reapFailures.values()) if (failure.retryAt > now) skipped++;
    const listed = (await this.script(
      'listLapsedNodes',
      'list lapsed nodes',
      [this.keys.nodes],
      [REAP_BATCH + skipped],
    )) as Buffer[];
    const nodes = listed.map(String);
    let reaped = 0;
    let tried = 0;
    for (const node of nodes) {
      const failure = this.reapFailures.get(node);
      if (failure !== undefined && failure.retryAt > now) continue;
      if (tried++ >= REAP_BATCH) break;
      const force = failure !== undefined && failure.attempts >= REAP_ATTEMPTS;
      let outcome: Removal;
      try {
        outcome = await this.removeNode(node, true, undefined, force);
      } catch (error) {
        if (!isReplyError(error)) throw error;
        outcome = 'stuck';
        this.faults.record('reapFailed', { node }, error);
      }
      if (outcome === 'stuck') {
        this.noteReapFailure(node, failure);
        continue;
      }
      this.reapFailures.delete(node);
      if (outcome === 'gone') {
        reaped++;
        if (force) this.faults.record('poisonedNode', { node });
      }
    }
    // A complete listing: failures of nodes no longer listed are over.
    if (nodes.length < REAP_BATCH + skipped) {
      const listedSet = new Set(nodes);
      for (const node of [...this.reapFailures.keys()])
        if (!listedSet.has(node)) this.reapFailures.delete(node);
    }
    if (reaped > 0) this.logger.info({ reaped }, 'Removed nodes whose liveness lapsed');
    return reaped;
  }

  private noteReapFailure(node: string, previous: ReapFailure | undefined): void {
    const attempts = (previous?.attempts ?? 0) + 1;
    if (previous === undefined && this.reapFailures.size >= MAX_REAP_FAILURES) return;
    this.reapFailures.set(node, {
      attempts,
      retryAt: Date.now() + REAP_RETRY_MS * 2 ** Math.min(attempts - 1, 6),
    });
  }

  /** Leave gracefully: every entry of this node is removed at once. Later calls are refused. */
  async leave(deadline?: number): Promise<void> {
    this.closed = true;
    this.watches.close();
    this.own.clear();
    await this.removeNode(this.nodeId, false, deadline, false);
  }

  /**
   * Remove `node` and every entry it owns, announcing each removal: list its owned set, remove
   * its entries kind by kind, then the node itself (each script declares every key it touches).
   * With `onlyIfLapsed` (the reaper), every step first checks that the node is still not live
   * and stops when it came back (it then puts its entries again itself). Unparsable owned-set
   * members are dropped (counted); with `force`, so is every member still left.
   */
  private async removeNode(
    node: string,
    onlyIfLapsed: boolean,
    deadline: number | undefined,
    force: boolean,
  ): Promise<Removal> {
    const owned = this.keys.owned(node);
    const flag = onlyIfLapsed ? '1' : '0';
    // A node that is not live cannot put, so one round normally does; a leaving node's put
    // still in flight may add a member meanwhile, hence a few rounds.
    for (let round = 0; round < 3; round++) {
      let members: Buffer[];
      try {
        members = await this.runner.run(
          `list entries owned by ${node}`,
          (client) => client.smembersBuffer(owned),
          deadline,
        );
      } catch (error) {
        // Not a set (corrupt or forged): remove-node-2 replaces it.
        if (!isReplyError(error)) throw error;
        this.faults.record('wrongTypeKey', { key: owned }, error);
        members = [];
      }
      const { byKind, bad } = groupByKind(members);
      this.faults.record('malformedOwnedMember', { node }, undefined, bad.length);
      for (const [kind, ids] of byKind) {
        for (let i = 0; i < ids.length; i += REMOVE_BATCH) {
          const removed = await this.script(
            'removeOwnedEntries',
            `remove entries of ${kind} owned by ${node}`,
            [this.keys.entries(kind), owned, this.keys.nodes, this.keys.changeLog(kind)],
            [node, kind, this.keys.changeChannel(kind), flag, ...ids.slice(i, i + REMOVE_BATCH)],
            deadline,
          );
          if (removed === -1) return 'live';
        }
      }
      // Forced: whatever the set still holds goes too (what it named was just removed).
      const drop = force ? members : bad;
      const gone = await this.script(
        'removeNode',
        `remove node ${node}`,
        [this.keys.nodes, owned],
        [node, flag, ...drop],
        deadline,
      );
      if (gone === 1) return 'gone';
      if (gone === -1) return 'live';
    }
    return 'stuck';
  }

  private async putEntry(entry: OwnEntry): Promise<number> {
    const value =
      this.cluster === undefined
        ? entry.value
        : this.cluster.sealEntry(entry.kind, entry.id, this.nodeId, entry.value);
    const stored = encodeEntry(this.nodeId, value);
    const result = (await this.script(
      'putEntry',
      `put registry entry ${entry.kind}/${entry.id}`,
      [
        this.keys.entries(entry.kind),
        this.keys.owned(this.nodeId),
        this.keys.nodes,
        this.keys.changeLog(entry.kind),
      ],
      [
        entry.id,
        this.nodeId,
        stored,
        ownedMember(entry.kind, entry.id),
        this.keys.changeChannel(entry.kind),
        encodePutChange(entry.kind, entry.id, stored),
      ],
    )) as number;
    if (result === SCRIPT_CODES.replacedWrongType) {
      this.faults.record('wrongTypeKey', { kind: entry.kind, replaced: true });
      return 1;
    }
    return result;
  }

  private script(
    name: ScriptName,
    what: string,
    keys: string[],
    args: (string | Buffer | number)[],
    deadline?: number,
  ): Promise<unknown> {
    const script = this.scripts[name];
    return this.runner.run(
      what,
      (client, caller) => evalScript(client, script, keys, args, caller),
      deadline,
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new BackendUnavailableError('The Redis backend of this host is closed.');
  }
}

function validateName(field: 'kind' | 'id', value: string): void {
  if (value === '' || Buffer.byteLength(value) > MAX_NAME_BYTES) {
    throw new ValidationError(`Registry ${field} must be 1 to ${MAX_NAME_BYTES} bytes long.`, {
      details: { field },
    });
  }
}

function deleteChange(kind: string, id: string, nodeId: string): Buffer {
  // Same layout as the delete frames the scripts build: a put frame whose entry has no value.
  const frame = encodePutChange(kind, id, encodeEntry(nodeId, new Uint8Array(0)));
  frame[0] = 0x44; // 'D'
  return frame;
}

/** The epoch and `n` of a change log entry id `<epoch>-<n>` (seq NaN for any other id). */
function logPosition(id: Buffer): LogPosition {
  const match = /^(\d+)-(\d+)$/.exec(id.toString('latin1'));
  return match === null
    ? { epoch: '', seq: Number.NaN }
    : { epoch: match[1]!, seq: Number(match[2]) };
}

/**
 * Owned-set members (`<len(kind)>:<kind><id>`, lengths in bytes) grouped by kind; members that
 * do not parse (no length, a length past the end, an empty kind or id) are returned apart.
 */
function groupByKind(members: Buffer[]): { byKind: Map<string, string[]>; bad: Buffer[] } {
  const byKind = new Map<string, string[]>();
  const bad: Buffer[] = [];
  for (const member of members) {
    const colon = member.indexOf(0x3a);
    const digits = colon > 0 && colon <= 5 ? member.toString('latin1', 0, colon) : '';
    const length = /^[1-9][0-9]*$/.test(digits) ? Number(digits) : 0;
    const end = colon + 1 + length;
    if (length === 0 || end >= member.length) {
      bad.push(member);
      continue;
    }
    const kind = member.toString('utf8', colon + 1, end);
    let ids = byKind.get(kind);
    if (ids === undefined) byKind.set(kind, (ids = []));
    ids.push(member.toString('utf8', end));
  }
  return { byKind, bad };
}
