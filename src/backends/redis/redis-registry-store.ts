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
import { ownedMember, type RedisKeys } from './keys.js';
import {
  evalScript,
  SCRIPT_CODES,
  scriptError,
  type LuaScript,
  type ScriptName,
} from './scripts.js';
import { RegistryWatches } from './registry-watches.js';
import type { SubscriptionHub } from './subscriptions.js';

/** Lapsed nodes listed per reap round at most. */
const REAP_BATCH = 50;
/** Entries removed per script call at most, so one call never blocks Redis for long. */
const REMOVE_BATCH = 500;

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
  private closed = false;

  constructor(
    private readonly nodeId: string,
    private readonly keys: RedisKeys,
    private readonly runner: CommandRunner,
    hub: SubscriptionHub,
    private readonly scripts: Record<ScriptName, LuaScript>,
    private readonly livenessTtl: number,
    private readonly logger: Logger,
  ) {
    this.watches = new RegistryWatches(
      hub,
      (kind) => keys.changeChannel(kind),
      (kind) => this.list(kind),
      logger,
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
      [this.keys.entries(kind), this.keys.owned(this.nodeId)],
      [id, this.nodeId, member, this.keys.changeChannel(kind), frame],
    );
  }

  async list(kind: string): Promise<RegistryRecord[]> {
    this.assertOpen();
    const flat = (await this.script(
      'listEntries',
      `list registry entries of ${kind}`,
      [this.keys.entries(kind), this.keys.nodes],
      [],
    )) as Buffer[];
    const records: RegistryRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const { nodeId, value } = decodeEntry(flat[i + 1]!);
      records.push({ kind, id: flat[i]!.toString(), nodeId, value });
    }
    return records;
  }

  async watch(kind: string, listener: RegistryListener): Promise<PortSubscription> {
    this.assertOpen();
    return this.watches.watch(kind, listener);
  }

  /** After the subscriber reconnected: repair watchers for changes that passed meanwhile. */
  resyncWatchers(): Promise<void> {
    return this.watches.resync();
  }

  async liveNodes(): Promise<string[]> {
    this.assertOpen();
    const ids = (await this.script(
      'listNodes',
      'list live nodes',
      [this.keys.nodes],
      [],
    )) as Buffer[];
    return ids.map((id) => id.toString());
  }

  /**
   * Prove this node is alive; if Redis had forgotten it, put all of its entries again.
   * Resolves with false when the node had to rejoin.
   */
  async heartbeat(): Promise<boolean> {
    const live = await this.script(
      'refreshNode',
      'refresh node liveness',
      [this.keys.nodes],
      [this.nodeId, this.livenessTtl],
    );
    if (live === 1) return true;
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
    return false;
  }

  /** Remove nodes whose liveness lapsed, with their entries (watchers get deletes). */
  async reap(): Promise<number> {
    const lapsed = (await this.script(
      'listLapsedNodes',
      'list lapsed nodes',
      [this.keys.nodes],
      [REAP_BATCH],
    )) as Buffer[];
    let reaped = 0;
    for (const node of lapsed) {
      if (await this.removeNode(node.toString(), true)) reaped++;
    }
    if (reaped > 0) this.logger.info({ reaped }, 'Removed nodes whose liveness lapsed');
    return reaped;
  }

  /** Leave gracefully: every entry of this node is removed at once. Later calls are refused. */
  async leave(deadline?: number): Promise<void> {
    this.closed = true;
    this.watches.close();
    this.own.clear();
    await this.removeNode(this.nodeId, false, deadline);
  }

  /**
   * Remove `node` and every entry it owns, announcing each removal: list its owned set, remove
   * its entries kind by kind, then the node itself (each script declares every key it touches).
   * With `onlyIfLapsed` (the reaper), every step first checks that the node's liveness is still
   * lapsed and stops when it came back (it then puts its entries again itself).
   * Resolves true when the node is gone.
   */
  private async removeNode(
    node: string,
    onlyIfLapsed: boolean,
    deadline?: number,
  ): Promise<boolean> {
    const owned = this.keys.owned(node);
    const flag = onlyIfLapsed ? '1' : '0';
    // A node that is not live cannot put, so one round normally does; a leaving node's put
    // still in flight may add a member meanwhile, hence a few rounds.
    for (let round = 0; round < 3; round++) {
      const members = await this.runner.run(
        `list entries owned by ${node}`,
        (client) => client.smembersBuffer(owned),
        deadline,
      );
      for (const [kind, ids] of groupByKind(members)) {
        for (let i = 0; i < ids.length; i += REMOVE_BATCH) {
          const removed = await this.script(
            'removeOwnedEntries',
            `remove entries of ${kind} owned by ${node}`,
            [this.keys.entries(kind), owned, this.keys.nodes],
            [node, kind, this.keys.changeChannel(kind), flag, ...ids.slice(i, i + REMOVE_BATCH)],
            deadline,
          );
          if (removed === -1) return false;
        }
      }
      const gone = await this.script(
        'removeNode',
        `remove node ${node}`,
        [this.keys.nodes, owned],
        [node, flag],
        deadline,
      );
      if (gone === 1) return true;
      if (gone === -1) return false;
    }
    return false;
  }

  private putEntry(entry: OwnEntry): Promise<number> {
    const stored = encodeEntry(this.nodeId, entry.value);
    return this.script(
      'putEntry',
      `put registry entry ${entry.kind}/${entry.id}`,
      [this.keys.entries(entry.kind), this.keys.owned(this.nodeId), this.keys.nodes],
      [
        entry.id,
        this.nodeId,
        stored,
        ownedMember(entry.kind, entry.id),
        this.keys.changeChannel(entry.kind),
        encodePutChange(entry.kind, entry.id, stored),
      ],
    ) as Promise<number>;
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

/** Owned-set members (`<len(kind)>:<kind><id>`, lengths in bytes) grouped by kind. */
function groupByKind(members: Buffer[]): Map<string, string[]> {
  const byKind = new Map<string, string[]>();
  for (const member of members) {
    const colon = member.indexOf(0x3a);
    const end = colon + 1 + Number(member.toString('latin1', 0, colon));
    const kind = member.toString('utf8', colon + 1, end);
    let ids = byKind.get(kind);
    if (ids === undefined) byKind.set(kind, (ids = []));
    ids.push(member.toString('utf8', end));
  }
  return byKind;
}
