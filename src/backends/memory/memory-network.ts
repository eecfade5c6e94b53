import { MemoryCacheState } from './memory-cache-store.js';
import { MemoryFeedState } from './memory-feed-store.js';
import { MemoryLockState } from './memory-lock-store.js';
import { MemoryKeyUsageState } from './memory-key-usage-store.js';
import { ValidationError } from '../../errors/errors.js';
import { MemoryQueueState } from './memory-queue-store.js';
import { MemoryTxLog } from './tx-log.js';
import { MemoryAuditLog } from './memory-audit-store.js';
import type { Logger } from 'pino';
import type {
  Responder,
  RegistryChange,
  RegistryListener,
  RegistryRecord,
  TopicHandler,
} from '../ports.js';

/** Per-node state held by the network: what this node subscribed to and answers. */
export interface MemoryNodeState {
  readonly topics: Map<string, Set<TopicHandler>>;
  readonly responders: Map<string, Responder>;
}

export interface MemoryNetworkOptions {
  /**
   * How long a crashed node's registry entries outlive it, ms (its liveness TTL lapsing, as on
   * Redis). Default 10000, like the Redis backend's `livenessTtl`.
   */
  livenessTtl?: number;
  /**
   * A file that keeps the transaction log of this network's hosts across restarts (created on
   * first use; one network per file, enforced by a lock file). Default `false`: in memory only.
   */
  transactionLog?: string | false;
  /** Where the transaction log reports what it repaired (default: a process warning). */
  logger?: Pick<Logger, 'warn'>;
  /**
   * A file that keeps the audit log of this network's hosts across restarts (JSON lines, created
   * on first use; one network per file, enforced by a lock file). Default `false`: in memory.
   */
  auditLog?: string | false;
}

/** A crashed node whose liveness has not lapsed yet. */
interface Lapsing {
  readonly lapsesAt: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * An in-process "network" that memory backends attach to. Every host on the same network forms
 * one cluster, which lets the in-memory backend show exactly the cluster semantics of the
 * distributed ones (and lets the conformance suite test them) without any server. A host that
 * is not given a network gets a private one: the network is owned by its hosts, never global.
 *
 * Liveness is simulated as on Redis: a node that leaves (`leave`, on close) takes its registry
 * entries with it at once; a node that crashes (`crash`) vanishes from the transport at once,
 * but its entries stay (listed, and still counted among the live nodes) until `livenessTtl`
 * lapses, when watchers get a delete for each.
 */
export class MemoryNetwork {
  readonly nodes = new Map<string, MemoryNodeState>();
  /** Durable queues outlive nodes, as they would on a server. */
  readonly queueState = new MemoryQueueState();
  /** The shared cache, the locks and the change feeds outlive nodes too. */
  readonly cacheState = new MemoryCacheState();
  readonly lockState = new MemoryLockState();
  readonly feedState = new MemoryFeedState();
  /** Encryptions per key version, counted by every node (the AES-GCM usage limit). */
  readonly keyUsageState = new MemoryKeyUsageState();
  /** The coordinator log of transactions, shared by every node (in memory, or in a file). */
  readonly txLog: MemoryTxLog;
  /** The audit chain every node appends to (in memory, or in a file). */
  readonly auditLog: MemoryAuditLog;
  readonly livenessTtl: number;
  private readonly records = new Map<string, Map<string, RegistryRecord>>();
  private readonly watchers = new Map<string, Set<RegistryListener>>();
  private readonly lapsing = new Map<string, Lapsing>();
  /** Crashed nodes (until an id rejoins): a dead process writes nothing. */
  private readonly dead = new Set<string>();

  constructor(options: MemoryNetworkOptions = {}) {
    const ttl = options.livenessTtl ?? 10_000;
    if (!Number.isFinite(ttl) || ttl < 0) {
      throw new ValidationError(
        `Memory network option "livenessTtl" must be a non-negative number of ms, got ${String(ttl)}.`,
        { details: { field: 'livenessTtl' } },
      );
    }
    this.livenessTtl = ttl;
    const log = options.transactionLog;
    if (log !== undefined && log !== false && (typeof log !== 'string' || log.length === 0)) {
      throw new ValidationError(
        `Memory network option "transactionLog" must be a file path or false, got ${JSON.stringify(log)}.`,
        { details: { field: 'transactionLog' } },
      );
    }
    this.txLog = new MemoryTxLog(log, options.logger);
    const audit = options.auditLog;
    if (
      audit !== undefined &&
      audit !== false &&
      (typeof audit !== 'string' || audit.length === 0)
    ) {
      throw new ValidationError(
        `Memory network option "auditLog" must be a file path or false, got ${JSON.stringify(audit)}.`,
        { details: { field: 'auditLog' } },
      );
    }
    this.auditLog = new MemoryAuditLog(audit, options.logger);
  }

  join(nodeId: string): MemoryNodeState {
    if (this.nodes.has(nodeId)) throw new Error(`Node id "${nodeId}" is already on this network.`);
    // A node restarting under the id of a crashed one starts clean.
    if (this.lapsing.has(nodeId)) this.expire(nodeId);
    this.dead.delete(nodeId);
    const state: MemoryNodeState = { topics: new Map(), responders: new Map() };
    this.nodes.set(nodeId, state);
    return state;
  }

  /** Remove a node and every entry it owns at once (a graceful leave). A crashed node cannot leave. */
  leave(nodeId: string): void {
    if (this.nodes.delete(nodeId)) this.dropEntries(nodeId);
  }

  /** Once no node is left, close the log files (read again if a node comes back). */
  releaseIfIdle(): Promise<void> {
    if (this.nodes.size > 0) return Promise.resolve();
    return Promise.all([this.txLog.release(), this.auditLog.release()]).then(() => undefined);
  }

  /**
   * Simulate a crash (kill -9) of a node: it vanishes from the transport at once (sends to it
   * are refused), and its entries expire when its liveness TTL lapses. Test helper.
   */
  crash(nodeId: string): void {
    if (!this.nodes.delete(nodeId)) return;
    this.dead.add(nodeId);
    const timer = setTimeout(() => this.expire(nodeId), this.livenessTtl);
    // Like a server-side reaper, it does not keep this process alive.
    timer.unref();
    this.lapsing.set(nodeId, { lapsesAt: Date.now() + this.livenessTtl, timer });
  }

  /** True when the node crashed (gone, whether or not its liveness has lapsed yet). */
  crashed(nodeId: string): boolean {
    return this.dead.has(nodeId);
  }

  /** Nodes whose liveness has not lapsed: joined ones, and crashed ones within their TTL. */
  liveNodes(): string[] {
    const now = Date.now();
    const live = [...this.nodes.keys()];
    for (const [nodeId, lapse] of this.lapsing) if (lapse.lapsesAt > now) live.push(nodeId);
    return live;
  }

  putRecord(record: RegistryRecord): void {
    let byId = this.records.get(record.kind);
    if (byId === undefined)
      this.records.set(record.kind, (byId = new Map<string, RegistryRecord>()));
    byId.set(record.id, record);
    this.notify(record.kind, { type: 'put', record });
  }

  removeRecord(kind: string, id: string, nodeId: string): void {
    const byId = this.records.get(kind);
    const existing = byId?.get(id);
    if (existing === undefined || existing.nodeId !== nodeId) return;
    byId!.delete(id);
    this.notify(kind, { type: 'delete', kind, id, nodeId });
  }

  /** Entries of `kind` whose owner is live (those of lapsed nodes not yet reaped are left out). */
  listRecords(kind: string): RegistryRecord[] {
    const all = [...(this.records.get(kind)?.values() ?? [])];
    if (this.lapsing.size === 0) return all;
    const now = Date.now();
    return all.filter((r) => (this.lapsing.get(r.nodeId)?.lapsesAt ?? Infinity) > now);
  }

  watch(kind: string, listener: RegistryListener): () => void {
    let set = this.watchers.get(kind);
    if (set === undefined) this.watchers.set(kind, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.watchers.delete(kind);
    };
  }

  /** A crashed node's liveness lapsed: its entries go, and watchers are told. */
  private expire(nodeId: string): void {
    const lapse = this.lapsing.get(nodeId);
    if (lapse === undefined) return;
    clearTimeout(lapse.timer);
    this.lapsing.delete(nodeId);
    this.dropEntries(nodeId);
  }

  private dropEntries(nodeId: string): void {
    for (const [kind, byId] of this.records) {
      for (const [id, record] of byId) {
        if (record.nodeId !== nodeId) continue;
        byId.delete(id);
        this.notify(kind, { type: 'delete', kind, id, nodeId });
      }
    }
  }

  private notify(kind: string, change: RegistryChange): void {
    const set = this.watchers.get(kind);
    if (set === undefined) return;
    // Like a real network, changes arrive asynchronously.
    for (const listener of set) queueMicrotask(() => listener(change));
  }
}

/** Create a network for several in-process hosts to share (`backend: { memory: network }`). */
export function createMemoryNetwork(options?: MemoryNetworkOptions): MemoryNetwork {
  return new MemoryNetwork(options);
}
