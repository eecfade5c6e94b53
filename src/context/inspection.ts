import type { EventObserver } from '../bus/event-observers.js';
import type { WorkQueueAdmin } from '../queue/work-queue-admin.js';
import type { CircuitState } from '../resilience/types.js';
import type { ServiceStatus } from '../rpc/types.js';
import type { TransactionSnapshot } from '../tx/transaction-core.js';

/** One circuit breaker of this node, as the dashboard shows it. */
export interface BreakerView {
  readonly name: string;
  readonly state: CircuitState;
  /** Failures and calls in the current window; totals since creation. */
  readonly failures: number;
  readonly calls: number;
  readonly successesTotal: number;
  readonly failuresTotal: number;
  readonly changedAt: number;
}

/** One lock held by a plugin of this node. */
export interface LockView {
  readonly resource: string;
  readonly pluginId: string;
  readonly fencingToken: number;
  readonly expiresAt: number;
}

/**
 * Read-only views into a running runtime's cores, for tools that watch a host (the dashboard).
 * Internal: not part of the public API. Nothing here changes what plugins see.
 */
export interface RuntimeInspection {
  readonly nodeId: string;
  readonly backendKind: string;
  /** Every event published on this node or reaching it from another node (see EventObserver). */
  observeEvents(observer: EventObserver): () => void;
  /** Ids of the live nodes of the cluster (this one alone on an unclustered backend). */
  liveNodes(): Promise<string[]>;
  /** RPC services with providers here or on other nodes. */
  services(): ServiceStatus[];
  breakers(): BreakerView[];
  locks(): LockView[];
  transactions(): { active: number; recent: TransactionSnapshot[] };
  /** The cluster's work queues and their dead letters. */
  readonly workQueues: WorkQueueAdmin;
}
