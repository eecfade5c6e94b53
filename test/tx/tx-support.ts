import type { TransactionLogStore } from '../../src/backends/ports.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { TransactionSettings } from '../../src/tx/transaction-manager.js';
import type { AbortReason, PrepareVote, TransactionResource } from '../../src/tx/types.js';
import { startRuntime, type TestRuntime } from '../support/runtime.js';
import { FakeTxLog } from './fake-tx-log.js';

/** One node of an in-process cluster: its runtime and its plugins' contexts. */
export interface TxNode extends TestRuntime {
  readonly nodeId: string;
  /** Release one plugin (as when it stops); its name is not used again on this node. */
  stopPlugin(plugin: string): Promise<void>;
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
  const node = await startRuntime({
    network,
    nodeId,
    transactions: { ...QUICK, ...settings },
    prepare: (backend) => Object.defineProperty(backend, 'transactions', { value: store }),
  });
  return {
    ...node,
    nodeId,
    ctx: (name) => node.scoped(name).context,
    stopPlugin: async (name) => {
      await node.scoped(name).release(1000);
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

/** The reasons a `TransactionAbortedError` lists. */
export function reasonsOf(error: unknown): AbortReason[] {
  return (error as { details: { reasons: AbortReason[] } }).details.reasons;
}

/** Two nodes sharing a fresh {@link FakeTxLog}. */
export async function twoNodes(settings?: Partial<TransactionSettings>): Promise<{
  store: FakeTxLog;
  a: TxNode;
  b: TxNode;
  network: MemoryNetwork;
  close(): Promise<void>;
}> {
  const store = new FakeTxLog();
  const cluster = await txCluster(2, { store, ...(settings ? { settings } : {}) });
  const [a, b] = cluster.nodes as [TxNode, TxNode];
  return { store, a, b, network: cluster.network, close: () => cluster.close() };
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
