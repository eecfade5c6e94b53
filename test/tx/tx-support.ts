import type { TransactionLogStore } from '../../src/backends/ports.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, Runtime, ScopedContext } from '../../src/context/types.js';
import type { TransactionSettings } from '../../src/tx/transaction-manager.js';
import type { PrepareVote, TransactionResource } from '../../src/tx/types.js';
import { silentLogger } from '../support/runtime.js';
import { FakeTxLog } from './fake-tx-log.js';

/** One node of an in-process cluster: its runtime and its plugins' contexts. */
export interface TxNode {
  readonly nodeId: string;
  readonly runtime: Runtime;
  ctx(plugin: string): PluginContext;
  scoped(plugin: string): ScopedContext;
  /** Release one plugin (as when it stops). */
  stopPlugin(plugin: string): Promise<void>;
  close(): Promise<void>;
}

export interface TxClusterOptions {
  /** The log every node shares (default: a {@link FakeTxLog}). */
  store?: TransactionLogStore;
  settings?: Partial<TransactionSettings>;
  /** Omitted: one network per cluster. */
  network?: MemoryNetwork;
}

/** Quick settings so that leases lapse and recovery runs within a test. */
export const QUICK: Partial<TransactionSettings> = {
  prepareTimeout: 1_000,
  leaseMs: 300,
  recoveryInterval: 60_000,
};

let counter = 0;

/** A node on `network` whose backend's transaction log is `store`. */
export async function txNode(
  network: MemoryNetwork,
  store: TransactionLogStore,
  settings: Partial<TransactionSettings> = {},
  nodeId = `tx-node-${++counter}`,
): Promise<TxNode> {
  const backend = new MemoryBackend({ nodeId, network });
  Object.defineProperty(backend, 'transactions', { value: store });
  const runtime = createRuntime({
    backend,
    logger: silentLogger,
    transactions: { ...QUICK, ...settings },
  });
  await runtime.start();
  const scopes = new Map<string, ScopedContext>();
  const scoped = (name: string): ScopedContext => {
    let s = scopes.get(name);
    if (s === undefined) {
      s = runtime.createContext({ name, version: '1.0.0', permissions: [], options: {} });
      scopes.set(name, s);
    }
    return s;
  };
  return {
    nodeId,
    runtime,
    scoped,
    ctx: (name) => scoped(name).context,
    stopPlugin: async (name) => {
      await scopes.get(name)?.release(1000);
      scopes.delete(name);
    },
    close: async () => {
      for (const s of scopes.values()) await s.release(1000);
      scopes.clear();
      await runtime.close();
    },
  };
}

/** `count` nodes sharing one network and one log. */
export async function txCluster(
  count: number,
  options: TxClusterOptions = {},
): Promise<{
  nodes: TxNode[];
  store: TransactionLogStore;
  network: MemoryNetwork;
  close(): Promise<void>;
}> {
  const network = options.network ?? new MemoryNetwork();
  const store = options.store ?? new FakeTxLog();
  const nodes: TxNode[] = [];
  for (let i = 0; i < count; i++) nodes.push(await txNode(network, store, options.settings));
  return {
    nodes,
    store,
    network,
    close: async () => {
      for (const node of nodes) await node.close();
    },
  };
}

/** A named resource that records what it was asked, by transaction id. */
export interface RecordingResource {
  readonly prepared: string[];
  readonly committed: string[];
  readonly rolledBack: string[];
  /** Phase infos of commit and rollback calls, in order. */
  readonly infos: { phase: string; redelivered: boolean }[];
  vote: (work: unknown) => PrepareVote | Promise<PrepareVote>;
  failCommit: number;
  readonly resource: TransactionResource;
}

export function recordingResource(): RecordingResource {
  const r: RecordingResource = {
    prepared: [],
    committed: [],
    rolledBack: [],
    infos: [],
    vote: () => undefined,
    failCommit: 0,
    resource: {
      prepare: (work, info) => {
        r.prepared.push(info.transactionId);
        return r.vote(work);
      },
      commit: (_work, info) => {
        if (r.failCommit > 0) {
          r.failCommit--;
          throw new Error('commit failed (injected)');
        }
        r.infos.push({ phase: 'commit', redelivered: info.redelivered });
        r.committed.push(info.transactionId);
      },
      rollback: (_work, info) => {
        r.infos.push({ phase: 'rollback', redelivered: info.redelivered });
        r.rolledBack.push(info.transactionId);
      },
    },
  };
  return r;
}
