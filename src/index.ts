/**
 * Plugboard's public API. Everything a user may import is named here; nothing else is exported
 * (the package `exports` map exposes only this entry point).
 */

// Hosting plugins
export { createHost, definePlugin, formatTimeline } from './host/index.js';
export { plugboardLogSerializers } from './host/host-logger.js';
export { currentTraceId } from './bus/current-trace.js';
export type {
  Host,
  HostEvents,
  HostHealth,
  HostOptions,
  HostStatus,
  EncryptionOptions,
  KeyConfig,
  KeyMaterial,
  KeyProvider,
  VersionedKey,
  LifecycleEvent,
  PluginDefinition,
  PluginEntry,
  PluginHealth,
  PluginInfo,
  PluginSource,
  PluginSpec,
  PluginState,
  RecordedError,
  SemverRange,
  StartResult,
  ReloadResult,
  TimelineEntry,
} from './host/index.js';
export { createMemoryNetwork, type MemoryNetwork } from './backends/memory/memory-network.js';
export type {
  BackendOption,
  MemoryBackendOption,
  RedisBackendOption,
  RedisTlsOption,
} from './backends/resolve.js';

// The web dashboard of a running host (what `plugboard start --dashboard <port>` serves)
export { startDashboard } from './dashboard/server/dashboard.js';
export type { Dashboard, DashboardOptions } from './dashboard/server/dashboard.js';
export type { EventStreamLimits } from './dashboard/server/event-stream.js';
export type { BackendConnectionHealth } from './backends/ports.js';

// Metrics and health: host.metrics(), host.health(), GET /metrics and GET /health
export type * from './metrics/types.js';

// Durable event queues: management through host.durable
export type { DurableAdmin, DurableDeadLetter, DurableQueueInfo } from './queue/types.js';
export type { QueueCounts } from './backends/ports.js';

// Message queues: context.messageQueue
export { MessageStatus } from './queue/message-types.js';
export type {
  Consumer,
  MessageHandler,
  MessageId,
  MessageQueue,
  PlugboardQueues,
  QueueDeadLetter,
  QueueMessage,
  QueuePayload,
  QueueStats,
  ReceiveOptions,
  RepeatHandle,
  RepeatSchedule,
  RetryOptions,
  SendOptions,
} from './queue/message-types.js';

// The plugin context and its building blocks
export type {
  BackgroundTasks,
  PluginContext,
  PluginTimers,
  RuntimeLimits,
} from './context/types.js';
export type {
  EventBus,
  EventHandler,
  EventMeta,
  Next,
  PluginChain,
  PluginErrorEvent,
  SubscribeOptions,
  Subscription,
  WaitedEvent,
  WaitForOptions,
} from './bus/types.js';
export type { AcquireOptions, Lock, LockService, TryAcquireOptions } from './lock/types.js';
export type {
  AbortReason,
  BeginOptions,
  PhaseInfo,
  PrepareVote,
  RecoveryReport,
  ResourceRegistration,
  SagaOptions,
  SagaStep,
  Transaction,
  TransactionManager,
  TransactionOptions,
  TransactionOutcome,
  TransactionParticipant,
  TransactionResource,
  TransactionState,
} from './tx/types.js';
export type {
  BulkheadOptions,
  BulkheadPolicy,
  CallContext,
  CircuitBreaker,
  CircuitBreakerFactory,
  CircuitBreakerOptions,
  CircuitState,
  CircuitStateChange,
  CircuitStats,
  Fallback,
  Guarded,
  Policy,
  PolicyOptions,
  ConfiguredPolicyOptions,
  ResilienceOptions,
  RetryPolicyOptions,
} from './resilience/types.js';
export type {
  CallOptions,
  Registration,
  RegisterOptions,
  RpcClient,
  RpcServer,
  ServiceInstanceInfo,
  ServiceStatus,
  ServiceStatusCallback,
  ServiceWatch,
  WaitForServiceOptions,
} from './rpc/types.js';
export type {
  DiscoverFilter,
  RegistryWatch,
  RegistryWatchEvent,
  ServiceDescriptor,
  ServiceInstance,
  ServiceRegistry,
} from './registry/types.js';

// Shared cache: context.cache
export type {
  Cache,
  CacheEntry,
  CacheMulti,
  CacheOptions,
  CacheSetOptions,
  CacheUpdateOptions,
  CacheVersion,
} from './cache/types.js';
export type {
  LocalCache,
  LocalCacheOptions,
  TieredCache,
  TieredCacheOptions,
} from './cache/tier-types.js';

export type {
  BatchErrorListener,
  BatchHandler,
  BatchOptions,
  BatchProcessor,
  BatchProcessors,
} from './batch/types.js';
export type {
  Change,
  ChangeHandler,
  ChangeInput,
  ChangeType,
  DataSync,
  DataSyncOptions,
  FeedSubscription,
  Published,
  RecordId,
  SyncRange,
  TimeInput,
  WatchOptions,
} from './sync/types.js';

// Security: permissions, encryption, audit
export type * from './security/permissions/types.js';
export type * from './security/crypto/types.js';
export type * from './security/audit/types.js';

// Typed contracts (declaration merging targets)
export type {
  EventPayload,
  MethodName,
  MethodParams,
  MethodResult,
  PlugboardEvents,
  PlugboardServices,
  ServiceImplementation,
  ServiceMethods,
  ServiceProxy,
} from './contracts/contracts.js';

// Errors
export {
  BackendUnavailableError,
  BackpressureError,
  CacheConflictError,
  CrossSlotError,
  DecryptionError,
  KeyExhaustedError,
  KeyNotFoundError,
  UnsupportedAlgorithmError,
  BulkheadRejectedError,
  SagaFailedError,
  TransactionAbortedError,
  TransactionStateError,
  LockNotHeldError,
  LockTimeoutError,
  ChainHandlerError,
  ChainNextCalledTwiceError,
  CircuitOpenError,
  ClosedError,
  ContextClosedError,
  DependencyCycleError,
  DependencyVersionError,
  DuplicatePluginError,
  hasErrorCode,
  HostStateError,
  InvalidManifestError,
  isPlugboardError,
  MethodNotFoundError,
  MissingDependencyError,
  PayloadTooLargeError,
  PermissionDeniedError,
  PlugboardError,
  PluginActivationError,
  PluginDeactivationError,
  PluginStartError,
  RemoteError,
  SerializationError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
  type PlugboardErrorOptions,
} from './errors/errors.js';
