import { MemoryCacheStore } from './memory-cache-store.js';
import { MemoryFeedStore } from './memory-feed-store.js';
import { MemoryLockStore } from './memory-lock-store.js';
import type { Logger } from 'pino';
import { MemoryNetwork } from './memory-network.js';
import { MemoryQueueStore } from './memory-queue-store.js';
import { MemoryRegistryStore } from './memory-registry-store.js';
import { MemoryTransport } from './memory-transport.js';
import { MemoryTxLogStore } from './memory-tx-log-store.js';
import { MemoryPolicyStore } from './memory-policy-store.js';
import { MemoryAuditStore } from './memory-audit-store.js';
import { MemoryKeyUsageStore } from './memory-key-usage-store.js';
import type { Backend, BackendStatus } from '../ports.js';

/** `createHost({ backend: { memory: network } })`: join the in-process cluster of `network`. */
export interface MemoryBackendOption {
  memory: MemoryNetwork;
}

export interface MemoryBackendOptions {
  nodeId: string;
  /** Share a network to form an in-process cluster; omitted, the backend is alone. */
  network?: MemoryNetwork;
  /**
   * Alone (no `network`): the file keeping its transaction log (see
   * `MemoryNetworkOptions.transactionLog`); default `false`, in memory. A shared network
   * has its own option.
   */
  transactionLog?: string | false;
  /** Alone: the file keeping its audit log (see `MemoryNetworkOptions.auditLog`); default `false`. */
  auditLog?: string | false;
  /** Alone: where the transaction log reports what it repaired. */
  logger?: Pick<Logger, 'warn'>;
}

/** The embedded default backend: everything in this process, nothing to install. */
export class MemoryBackend implements Backend {
  readonly kind = 'memory';
  readonly nodeId: string;
  readonly transport: MemoryTransport;
  readonly registry: MemoryRegistryStore;
  readonly queues: MemoryQueueStore;
  readonly cache: MemoryCacheStore;
  readonly locks: MemoryLockStore;
  readonly feeds: MemoryFeedStore;
  readonly transactions: MemoryTxLogStore;
  readonly policies: MemoryPolicyStore;
  readonly audit: MemoryAuditStore;
  readonly keyUsage: MemoryKeyUsageStore;
  readonly clustered: boolean;
  private currentStatus: BackendStatus = 'connecting';
  private readonly network: MemoryNetwork;

  constructor(options: MemoryBackendOptions) {
    this.nodeId = options.nodeId;
    this.clustered = options.network !== undefined;
    this.network =
      options.network ??
      new MemoryNetwork({
        transactionLog: options.transactionLog ?? false,
        auditLog: options.auditLog ?? false,
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      });
    const state = this.network.join(this.nodeId);
    this.transport = new MemoryTransport(this.nodeId, this.network, state);
    this.registry = new MemoryRegistryStore(this.nodeId, this.network);
    this.queues = new MemoryQueueStore(this.network.queueState);
    this.cache = new MemoryCacheStore(this.nodeId, this.network.cacheState);
    this.locks = new MemoryLockStore(this.nodeId, this.network.lockState);
    this.feeds = new MemoryFeedStore(this.nodeId, this.network.feedState);
    this.transactions = new MemoryTxLogStore(this.nodeId, this.network);
    this.policies = new MemoryPolicyStore(this.network);
    this.audit = new MemoryAuditStore(this.network.auditLog);
    this.keyUsage = new MemoryKeyUsageStore(this.network.keyUsageState);
  }

  get status(): BackendStatus {
    return this.currentStatus;
  }

  start(): Promise<void> {
    if (this.currentStatus === 'connecting') this.currentStatus = 'ready';
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.currentStatus === 'closed') return Promise.resolve();
    this.currentStatus = 'closed';
    this.network.leave(this.nodeId);
    this.transport.close();
    this.registry.close();
    this.queues.close();
    this.cache.close();
    this.locks.close();
    this.feeds.close();
    this.transactions.close();
    this.policies.close();
    this.audit.close();
    this.keyUsage.close();
    // The last node out closes the transaction log's file (after its pending writes).
    return this.network.releaseIfIdle();
  }
}
