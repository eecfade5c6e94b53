import type { TransactionOptions } from '../tx/types.js';
import type { ResilienceOptions } from '../resilience/types.js';
import type { Logger } from 'pino';
import type { HostMetrics } from '../metrics/host-metrics.js';
import { answerBarriers } from '../backends/cluster-barrier.js';
import type {
  Backend,
  BackendConnectionHealth,
  FeedRetention,
  PortSubscription,
  TransportFault,
} from '../backends/ports.js';
import { currentTraceId } from '../bus/current-trace.js';
import { EventBusCore } from '../bus/event-bus-core.js';
import { PluginChainCore } from '../bus/plugin-chain-core.js';
import { createBatchProcessors } from '../batch/batch-processors.js';
import { createCache, type CacheEnv } from '../cache/cache.js';
import type { CacheOptions } from '../cache/types.js';
import { createLockService, type LockEnv } from '../lock/lock-service.js';
import { HeldLocks } from '../lock/held-locks.js';
import { createWorkQueueAdmin, type WorkQueueAdmin } from '../queue/work-queue-admin.js';
import type { RuntimeInspection } from './inspection.js';
import {
  createTransactionManager,
  transactionSettings,
  type TransactionSettings,
} from '../tx/transaction-manager.js';
import { TransactionCore } from '../tx/transaction-core.js';
import {
  createCircuitBreakerFactory,
  type ResilienceEnv,
} from '../resilience/circuit-breaker-factory.js';
import { BreakerRegistry } from '../resilience/breaker-registry.js';
import { configuredPolicies, type ConfiguredPolicy } from '../resilience/configured-policies.js';
import { createDataSync, DEFAULT_RETENTION, type DataSyncEnv } from '../sync/data-sync.js';
import { createDurableAdmin } from '../queue/durable-admin.js';
import { createMessageQueue, type MessageQueueEnv } from '../queue/message-queue.js';
import { RepeatScheduler } from '../queue/repeat-schedule.js';
import type { DurableAdmin } from '../queue/types.js';
import { createCodec } from '../codec/codec.js';
import { parityDefault } from './parity.js';
import { ServiceRegistryCore } from '../registry/service-registry-core.js';
import { RpcCore } from '../rpc/rpc-core.js';
import { Deadlines } from '../util/deadlines.js';
import { createIdGenerator } from '../util/ids.js';
import {
  createBackgroundTasks,
  createEventBus,
  createPluginChain,
  createRpcClient,
  createRpcServer,
  createServiceRegistry,
  createTimers,
} from './facades.js';
import { PluginScope } from './plugin-scope.js';
import { AuditCore } from '../security/audit/audit-core.js';
import { createAuditLogger } from '../security/audit/audit-logger.js';
import type { AuditEntryInput, AuditOptions } from '../security/audit/types.js';
import { createCapabilityGuard } from '../security/capabilities/capability-guard.js';
import { EncryptionCore } from '../security/crypto/encryption-core.js';
import { createEncryptionService } from '../security/crypto/encryption-service.js';
import { PermissionCore } from '../security/permissions/permission-core.js';
import { createPermissionService } from '../security/permissions/permission-service.js';
import type { PermissionPolicyOptions } from '../security/permissions/types.js';
import type { EncryptionOptions, KeyConfig, KeyProvider } from '../host/types.js';
import type {
  PluginContext,
  PluginIdentity,
  Runtime,
  RuntimeLimits,
  RuntimeStats,
  ScopedContext,
} from './types.js';

export const DEFAULT_LIMITS: RuntimeLimits = {
  rpcTimeout: 10_000,
  handlerTimeout: 30_000,
  maxPayloadBytes: 1024 * 1024,
  maxInFlightCalls: 10_000,
};

export interface RuntimeOptions {
  backend: Backend;
  logger: Logger;
  limits?: Partial<RuntimeLimits>;
  /** The shared cache's options (`maxValueBytes` defaults to `limits.maxPayloadBytes`). */
  cache?: CacheOptions;
  /**
   * Round-trip every payload delivered in this process (event data, RPC params and results)
   * through the codec, as if it crossed to another node. Default: on unless
   * `NODE_ENV === 'production'` (see {@link parityDefault}).
   */
  parity?: boolean;
  /** Change-feed retention per collection (default: {@link DEFAULT_RETENTION}). */
  dataSync?: FeedRetention;
  /** Transaction settings (default: `DEFAULT_TRANSACTION_SETTINGS`; a field given as undefined keeps its default). */
  transactions?: Partial<TransactionSettings> & TransactionOptions;
  /** Resilience policies per RPC service and per queue. */
  resilience?: ResilienceOptions;
  /** Capabilities, permission policies, encryption keys and the audit log. */
  security?: SecurityOptions;
  /** The host's metrics, bumped by every building block (none: no metrics, no cost). */
  metrics?: HostMetrics;
}

/** The host's security options, validated by the host. */
export interface SecurityOptions {
  /** Deny plugins that declare no `permissions` list (default false: they are trusted). */
  strictPermissions?: boolean;
  keys?: KeyConfig | KeyProvider;
  /** Key cache, usage limits and batching of the encryption service. */
  encryption?: EncryptionOptions;
  permissionPolicy?: PermissionPolicyOptions;
  audit?: AuditOptions;
}

/** Create the per-host engine: one core per building block over one backend. */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new HostRuntime(options);
}

class HostRuntime implements Runtime {
  readonly nodeId: string;
  readonly backendKind: string;
  readonly limits: RuntimeLimits;
  readonly parity: boolean;
  readonly durable: DurableAdmin;
  private readonly backend: Backend;
  private readonly logger: Logger;
  private readonly deadlines = new Deadlines();
  /** Fresh trace ids, for failures of work no event or message started. */
  private readonly nextTraceId: () => string;
  private readonly bus: EventBusCore;
  private readonly chain: PluginChainCore;
  private readonly rpc: RpcCore;
  private readonly registry: ServiceRegistryCore;
  private readonly queues: MessageQueueEnv;
  private readonly cacheEnv: CacheEnv;
  private readonly lockEnv: LockEnv;
  private readonly syncEnv: DataSyncEnv;
  /** One per host: every plugin's transactionManager and the host's one recovery loop. */
  private readonly tx: TransactionCore;
  private readonly resilienceEnv: ResilienceEnv;
  /** Policies of the RPC services configured in `resilience.services` (none: undefined). */
  private readonly servicePolicies: ReadonlyMap<string, ConfiguredPolicy> | undefined;
  private readonly security: SecurityOptions;
  private readonly audit: AuditCore;
  private readonly permissions: PermissionCore;
  private readonly encryption: EncryptionCore;
  private readonly heldLocks = new HeldLocks();
  private readonly workQueues: WorkQueueAdmin;
  private inspection: RuntimeInspection | undefined;
  private readonly metrics: HostMetrics | undefined;
  private detachMetrics: (() => void) | undefined;
  private barrier: PortSubscription | undefined;
  private stopFaults: (() => void) | undefined;

  constructor(options: RuntimeOptions) {
    this.backend = options.backend;
    this.logger = options.logger;
    this.nodeId = options.backend.nodeId;
    this.backendKind = options.backend.kind;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.parity = options.parity ?? parityDefault();
    const metrics = (this.metrics = options.metrics);
    const codec = createCodec({ maxPayloadBytes: this.limits.maxPayloadBytes });
    const nextId = createIdGenerator(this.nodeId);
    this.nextTraceId = nextId;
    const shared = { backend: this.backend, codec, deadlines: this.deadlines, logger: this.logger };
    this.bus = new EventBusCore({
      ...shared,
      nextId,
      handlerTimeout: this.limits.handlerTimeout,
      parity: this.parity,
      ...(metrics === undefined ? {} : { metrics }),
    });
    this.chain = new PluginChainCore(this.bus, this.nodeId, nextId, {
      handlerTimeout: this.limits.handlerTimeout,
      deadlines: this.deadlines,
    });
    this.rpc = new RpcCore({
      ...shared,
      defaultTimeout: this.limits.rpcTimeout,
      maxInFlight: this.limits.maxInFlightCalls,
      parity: this.parity,
      ...(metrics === undefined ? {} : { metrics }),
    });
    this.registry = new ServiceRegistryCore(shared);
    this.durable = createDurableAdmin(this.backend, codec);
    this.workQueues = createWorkQueueAdmin(this.backend.queues, codec);
    this.queues = {
      store: this.backend.queues,
      codec,
      logger: this.logger,
      deadlines: this.deadlines,
      nodeId: this.nodeId,
      createRepeats: () =>
        new RepeatScheduler({
          store: this.backend.queues,
          logger: this.logger,
          deadlines: this.deadlines,
        }),
    };
    const blockEnv = { codec, logger: this.logger, deadlines: this.deadlines, nodeId: this.nodeId };
    this.cacheEnv = {
      ...blockEnv,
      // The cache checks its own limit (maxValueBytes, with its own message), not the codec's.
      codec: createCodec({ maxPayloadBytes: Number.POSITIVE_INFINITY }),
      store: this.backend.cache,
      maxValueBytes: options.cache?.maxValueBytes ?? this.limits.maxPayloadBytes,
      ...(metrics === undefined ? {} : { metrics }),
    };
    this.lockEnv = {
      ...blockEnv,
      store: this.backend.locks,
      held: this.heldLocks,
      ...(metrics === undefined ? {} : { metrics }),
    };
    this.syncEnv = {
      ...blockEnv,
      store: this.backend.feeds,
      retention: options.dataSync ?? DEFAULT_RETENTION,
    };
    this.tx = new TransactionCore({
      ...blockEnv,
      store: this.backend.transactions,
      rpc: this.rpc,
      settings: transactionSettings(options.transactions),
      ...(metrics === undefined ? {} : { metrics }),
    });
    this.resilienceEnv = {
      logger: this.logger,
      nodeId: this.nodeId,
      breakers: new BreakerRegistry({ logger: this.logger }),
      deadlines: this.deadlines,
      ...(metrics === undefined ? {} : { metrics }),
    };
    const configured = configuredPolicies(options.resilience, this.resilienceEnv.breakers, {
      deadlines: this.deadlines,
    });
    this.servicePolicies = configured.services.size > 0 ? configured.services : undefined;
    if (configured.queues.size > 0) this.queues.policies = configured.queues;
    this.security = options.security ?? {};
    this.audit = new AuditCore({
      store: this.backend.audit,
      logger: this.logger,
      nodeId: this.nodeId,
      options: this.security.audit,
    });
    this.permissions = new PermissionCore({
      store: this.backend.policies,
      logger: this.logger,
      policy: this.security.permissionPolicy,
      audit: this.audit,
    });
    this.encryption = new EncryptionCore({
      keys: this.security.keys,
      options: this.security.encryption,
      maxValueBytes: this.limits.maxPayloadBytes,
      usage: this.backend.keyUsage,
      logger: this.logger,
      audit: this.audit,
    });
  }

  async start(): Promise<void> {
    // The backend refuses to start if it cannot carry our largest payload.
    this.backend.transport.setMaxPayloadBytes(this.limits.maxPayloadBytes);
    this.stopFaults = this.backend.transport.onFault((fault) => this.reportFault(fault));
    await this.backend.start();
    this.detachMetrics = this.metrics?.attach({
      queues: this.backend.queues,
      breakers: this.resilienceEnv.breakers,
    });
    if (this.backend.clustered) this.barrier = await answerBarriers(this.backend);
    await Promise.all([this.bus.start(), this.rpc.start()]);
    // The configured permission policy is written (and the stored one loaded) before any plugin runs.
    await this.permissions.start();
    this.tx.start();
  }

  createContext(identity: PluginIdentity): ScopedContext {
    const logger = this.logger.child({ plugin: identity.name });
    const guard = createCapabilityGuard({
      pluginId: identity.name,
      permissions: identity.permissions,
      strict: this.security.strictPermissions ?? false,
      audit: this.audit,
    });
    const scope = new PluginScope(identity.name, logger, this, guard);
    const waits = { deadlines: this.deadlines, defaultTimeout: this.limits.rpcTimeout };
    // A failure reported while one of the plugin's handlers runs keeps that handler's trace;
    // one from a timer, a background task or a block's own work gets a fresh one.
    const report = (event: string, error: unknown, traceId?: string): void =>
      this.bus.reportFailure(
        identity.name,
        event,
        traceId ?? currentTraceId() ?? this.nextTraceId(),
        error,
      );
    const context: PluginContext = Object.freeze({
      pluginId: identity.name,
      version: identity.version,
      nodeId: this.nodeId,
      options: Object.freeze({ ...identity.options }),
      eventBus: createEventBus(this.bus, scope, waits),
      pluginChain: createPluginChain(this.chain, scope),
      rpcServer: createRpcServer(this.rpc, scope),
      rpcClient: createRpcClient(this.rpc, scope, waits, this.servicePolicies),
      serviceRegistry: createServiceRegistry(this.registry, scope),
      messageQueue: createMessageQueue({ ...this.queues, logger }, scope, (queue, error, trace) =>
        report(`queue.${queue}`, error, trace),
      ),
      cache: createCache({ ...this.cacheEnv, logger }, scope, (what, error) =>
        report(`cache.${what}`, error),
      ),
      lock: createLockService({ ...this.lockEnv, logger }, scope, (what, error) =>
        report(`lock.${what}`, error),
      ),
      dataSync: createDataSync({ ...this.syncEnv, logger }, scope, (what, error) =>
        report(`dataSync.${what}`, error),
      ),
      transactionManager: createTransactionManager(this.tx, scope, (what, error) =>
        report(`transaction.${what}`, error),
      ),
      circuitBreakerFactory: createCircuitBreakerFactory(
        { ...this.resilienceEnv, logger },
        scope,
        (what, error) => report(`circuitBreaker.${what}`, error),
      ),
      permissionService: createPermissionService(this.permissions, scope),
      encryptionService: createEncryptionService(this.encryption, scope),
      auditLogger: createAuditLogger(this.audit, scope, (error) =>
        report('auditLogger.log', error),
      ),
      logger,
      timers: createTimers(scope, (error) => report('timer', error)),
      background: createBackgroundTasks(scope, (name, error) =>
        report(`background.${name}`, error),
      ),
      batchProcessor: createBatchProcessors(scope, (name, error) => report(`batch.${name}`, error)),
      signal: scope.controller.signal,
    });
    return {
      context,
      // Denial counts still pending are written while the audit log is open.
      release: (timeoutMs) => scope.release(timeoutMs).finally(() => guard?.flush()),
      idle: () => scope.idle(),
      holdings: () => ({
        subscriptions: scope.count('subscription'),
        registrations: scope.count('registration'),
        registryEntries: scope.count('registryEntry'),
        timers: scope.count('timer'),
        background: scope.background.inFlight,
        inFlight: scope.tracker.inFlight,
        locks: scope.count('lock'),
        feedWatches: scope.count('feedWatch'),
        cacheTiers: scope.count('cacheTier'),
      }),
    };
  }

  publishAsHost(event: string, data: unknown): Promise<void> {
    return this.bus.publish('host', event, data);
  }

  auditAsHost(entry: AuditEntryInput): void {
    this.audit.record(entry);
  }

  reportPluginError(pluginId: string, event: string, error: unknown): Promise<void> {
    return this.bus.publishFailure(pluginId, event, this.nextTraceId(), error);
  }

  /** A transport fault no caller could be told about: a log line and a `backend.error` event. */
  private reportFault(fault: TransportFault): void {
    this.logger.warn({ kind: fault.kind, details: fault.details }, fault.message);
    this.bus
      .publish('host', 'backend.error', { ...fault, nodeId: this.nodeId })
      .catch((error: unknown) =>
        this.logger.debug({ err: error }, 'Could not publish backend.error'),
      );
  }

  async close(): Promise<void> {
    this.stopFaults?.();
    this.detachMetrics?.();
    await this.tx.close();
    await Promise.allSettled([this.encryption.close(), this.permissions.close()]);
    await this.audit.close();
    await Promise.allSettled([this.bus.close(), this.rpc.close(), this.barrier?.close()]);
    this.deadlines.close();
    this.resilienceEnv.breakers.close();
    await this.backend.close();
  }

  inspect(): RuntimeInspection {
    if (this.inspection !== undefined) return this.inspection;
    const breakers = this.resilienceEnv.breakers;
    this.inspection = Object.freeze({
      nodeId: this.nodeId,
      backendKind: this.backendKind,
      observeEvents: (observer) => this.bus.observe(observer),
      liveNodes: () => this.backend.registry.liveNodes(),
      services: () => this.rpc.services(),
      breakers: () =>
        breakers.list().map((breaker) => {
          const stats = breaker.stats;
          return {
            name: breaker.name,
            state: stats.state,
            failures: stats.failures,
            calls: stats.calls,
            successesTotal: stats.successesTotal,
            failuresTotal: stats.failuresTotal,
            changedAt: stats.changedAt,
          };
        }),
      locks: () => this.heldLocks.list(),
      transactions: () => this.tx.activity(),
      workQueues: this.workQueues,
    } satisfies RuntimeInspection);
    return this.inspection;
  }

  /** Each backend connection's health (a backend without connections: one entry, its kind). */
  connections(): BackendConnectionHealth[] {
    const own = this.backend.connections?.();
    if (own !== undefined) return own;
    const status = this.backend.status;
    return [{ name: this.backend.kind, up: status === 'ready', status }];
  }

  /** Circuit breakers created by `pluginId` that are open now. */
  openBreakersOf(pluginId: string): string[] {
    return this.metrics?.openBreakersOf(pluginId) ?? [];
  }

  stats(): RuntimeStats {
    return {
      subscriptions: this.bus.subscriptionCount,
      localProviders: this.rpc.localProviderCount,
      inFlightCalls: this.rpc.inFlightCalls,
    };
  }
}
