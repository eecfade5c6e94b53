import type { Cache } from '../cache/types.js';
import type { CircuitBreakerFactory } from '../resilience/types.js';
import type { TransactionManager } from '../tx/types.js';
import type { LockService } from '../lock/types.js';
import type { DataSync } from '../sync/types.js';
import type { MessageQueue } from '../queue/message-types.js';
import type { DurableAdmin } from '../queue/types.js';
import type { BatchProcessors } from '../batch/types.js';
import type { Logger } from 'pino';
import type { AuditEntryInput, AuditLogger } from '../security/audit/types.js';
import type { EncryptionService } from '../security/crypto/types.js';
import type { PermissionService } from '../security/permissions/types.js';
import type { EventBus, PluginChain } from '../bus/types.js';
import type { ServiceRegistry } from '../registry/types.js';
import type { RpcClient, RpcServer } from '../rpc/types.js';
import type { RuntimeInspection } from './inspection.js';
import type { BackendConnectionHealth } from '../backends/ports.js';

/**
 * Timers owned by a plugin: cleared when the plugin stops. A callback that throws or returns a
 * rejected promise is reported as `plugin.error` (event `timer`).
 */
export interface PluginTimers {
  setTimeout(fn: () => void | Promise<void>, ms: number): { cancel(): void };
  setInterval(fn: () => void | Promise<void>, ms: number): { cancel(): void };
}

/**
 * Work a plugin starts after answering (the "202 Accepted" pattern). The host tracks it:
 * failures are reported as `plugin.error`, and `host.stop()` waits for it, with a bound.
 */
export interface BackgroundTasks {
  run(name: string, task: (signal: AbortSignal) => Promise<unknown>): void;
  /** Tasks still running. */
  readonly pending: number;
}

/**
 * What a plugin receives in `activate(context)`. Every member is scoped to the plugin: its name
 * is on every event and log line it produces, and everything it creates is released when it
 * stops. Every cross-plugin operation is asynchronous or returns a handle, so a plugin can later
 * run in a worker or child process behind this same interface.
 */
export interface PluginContext {
  /** The plugin's name. */
  readonly pluginId: string;
  /** The plugin's version. */
  readonly version: string;
  /** The node (host) this plugin runs on. */
  readonly nodeId: string;
  /** Options from the plugin's manifest (`plugboard.options`) or `definePlugin({ options })`. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly eventBus: EventBus;
  readonly pluginChain: PluginChain;
  readonly rpcServer: RpcServer;
  readonly rpcClient: RpcClient;
  readonly serviceRegistry: ServiceRegistry;
  /**
   * Durable work queues: `send` stores a message, `receive` consumes it with competing consumers
   * across the cluster (at least once), with retries, delays, priorities and dead letters.
   */
  readonly messageQueue: MessageQueue;
  /** Shared cache with TTLs (seconds), atomic `multi()`, compare-and-set and local tiers. */
  readonly cache: Cache;
  /** Distributed locks with fencing tokens. */
  readonly lock: LockService;
  /** Change feeds: record, watch in order, resume, replay a time range. */
  readonly dataSync: DataSync;
  /** Two-phase commit across plugins and nodes, recovered after a crash; sagas. */
  readonly transactionManager: TransactionManager;
  /** Circuit breakers (one per name per node), retry, timeout, bulkhead and fallback. */
  readonly circuitBreakerFactory: CircuitBreakerFactory;
  /** Roles and grants with wildcards and conditions, deny over allow; shared by the cluster. */
  readonly permissionService: PermissionService;
  /** AES-256-GCM with the host's keys (rotating by version). */
  readonly encryptionService: EncryptionService;
  /** The hash-chained audit log; entries carry this plugin's name. */
  readonly auditLogger: AuditLogger;
  readonly logger: Logger;
  readonly timers: PluginTimers;
  readonly background: BackgroundTasks;
  /** Batch processors: items grouped into batches (closed and flushed when the plugin stops). */
  readonly batchProcessor: BatchProcessors;
  /** Aborted when the plugin is being stopped. */
  readonly signal: AbortSignal;
}

/** Who a context is for. */
export interface PluginIdentity {
  name: string;
  version: string;
  /** Declared capabilities; undefined when the plugin declares no list. */
  permissions: readonly string[] | undefined;
  options: Readonly<Record<string, unknown>>;
}

/** What the host gets back for each plugin: the context and a way to release all it holds. */
export interface ScopedContext {
  readonly context: PluginContext;
  /**
   * Release every subscription, registration, timer and entry of the plugin, then wait up to
   * `timeoutMs` for its in-flight handlers and background tasks. Resolves with what was still
   * running at the bound (empty when everything finished).
   */
  release(timeoutMs: number): Promise<{ unfinished: string[] }>;
  /** Counts of what the plugin holds now (for health and the leak test). */
  holdings(): PluginHoldings;
  /** Resolves once the plugin has no handler and no background task in flight. */
  idle(): Promise<void>;
}

export interface PluginHoldings {
  subscriptions: number;
  registrations: number;
  registryEntries: number;
  timers: number;
  background: number;
  inFlight: number;
  /** Locks held (`context.lock`); released when the plugin stops. */
  locks: number;
  /** Change-feed watches (`context.dataSync.watch`). */
  feedWatches: number;
  /** Local cache tiers (`context.cache.local` / `tiered`). */
  cacheTiers: number;
}

/** Host-level tuning shared by every building block. */
export interface RuntimeLimits {
  /** Default RPC call deadline, ms. Default 10000. */
  rpcTimeout: number;
  /** Bound on an async event handler before the publish stops waiting for it, ms. Default 30000. */
  handlerTimeout: number;
  /** Largest encoded payload that may cross a process boundary, bytes. Default 1 MiB. */
  maxPayloadBytes: number;
  /** Bound on RPC calls in flight per host before `BackpressureError`. Default 10000. */
  maxInFlightCalls: number;
}

/**
 * The per-host engine behind every context: the building blocks' shared cores over one backend.
 * The host creates one, hands each plugin a scoped context from it, and closes it last.
 */
export interface Runtime {
  readonly nodeId: string;
  readonly backendKind: string;
  readonly limits: RuntimeLimits;
  /** Start cluster bookkeeping (watches, responders). */
  start(): Promise<void>;
  /** A context scoped to one plugin. */
  createContext(identity: PluginIdentity): ScopedContext;
  /** Publish an event as the host itself (`source: 'host'`), e.g. lifecycle events. */
  publishAsHost(event: string, data: unknown): Promise<void>;
  /** Append an audit entry as the host itself (lifecycle, denials, key rotation); never throws. */
  auditAsHost(entry: AuditEntryInput): void;
  /** Publish `plugin.error` as the host for a failure of `pluginId` in `event` (a phase or event name). */
  reportPluginError(pluginId: string, event: string, error: unknown): Promise<void>;
  /** What the cores hold right now, host-wide (zero everywhere after every plugin is released). */
  stats(): RuntimeStats;
  /** List and remove durable event queues, bindings and dead letters (cluster-wide). */
  readonly durable: DurableAdmin;
  /** Stop every core and close the backend. */
  close(): Promise<void>;
  /** Read-only views into the cores, for the dashboard (internal). */
  inspect?(): RuntimeInspection;
  /** Each backend connection's health (optional: runtimes made for tests may leave it out). */
  connections?(): BackendConnectionHealth[];
  /** Circuit breakers created by `pluginId` that are open now (optional, as above). */
  openBreakersOf?(pluginId: string): string[];
}

export interface RuntimeStats {
  subscriptions: number;
  localProviders: number;
  inFlightCalls: number;
}
