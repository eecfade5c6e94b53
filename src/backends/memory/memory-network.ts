import { MemoryQueueState } from './memory-queue-store.js';
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

/**
 * An in-process "network" that memory backends attach to. Every host on the same network forms
 * one cluster, which lets the in-memory backend show exactly the cluster semantics of the
 * distributed ones (and lets the conformance suite test them) without any server. A host that
 * is not given a network gets a private one: the network is owned by its hosts, never global.
 */
export class MemoryNetwork {
  readonly nodes = new Map<string, MemoryNodeState>();
  /** Durable queues outlive nodes, as they would on a server. */
  readonly queueState = new MemoryQueueState();
  private readonly records = new Map<string, Map<string, RegistryRecord>>();
  private readonly watchers = new Map<string, Set<RegistryListener>>();

  join(nodeId: string): MemoryNodeState {
    if (this.nodes.has(nodeId)) throw new Error(`Node id "${nodeId}" is already on this network.`);
    const state: MemoryNodeState = { topics: new Map(), responders: new Map() };
    this.nodes.set(nodeId, state);
    return state;
  }

  /** Remove a node and every entry it owns, as liveness expiry would. */
  leave(nodeId: string): void {
    if (!this.nodes.delete(nodeId)) return;
    for (const [kind, byId] of this.records) {
      for (const [id, record] of byId) {
        if (record.nodeId !== nodeId) continue;
        byId.delete(id);
        this.notify(kind, { type: 'delete', kind, id, nodeId });
      }
    }
  }

  /**
   * Simulate a crash (kill -9) of a node: it vanishes from the network at once, and its
   * entries expire as its liveness lapses. Test-only helper.
   */
  crash(nodeId: string): void {
    this.leave(nodeId);
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

  listRecords(kind: string): RegistryRecord[] {
    return [...(this.records.get(kind)?.values() ?? [])];
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

  private notify(kind: string, change: RegistryChange): void {
    const set = this.watchers.get(kind);
    if (set === undefined) return;
    // Like a real network, changes arrive asynchronously.
    for (const listener of set) queueMicrotask(() => listener(change));
  }
}

/** Create a network for several in-process hosts to share (`backend: { memory: network }`). */
export function createMemoryNetwork(): MemoryNetwork {
  return new MemoryNetwork();
}
