import type { AuditOptions } from '../security/audit/types.js';
import type { PermissionPolicyOptions } from '../security/permissions/types.js';
import type { TransactionOptions } from '../tx/types.js';
import type { ResilienceOptions } from '../resilience/types.js';
import type { CacheOptions } from '../cache/types.js';
import type { DurableAdmin } from '../queue/types.js';
import type { Logger } from 'pino';
import type { BackendOption } from '../backends/resolve.js';
import type { DataSyncOptions } from '../sync/types.js';
import type { BackendConnectionHealth } from '../backends/ports.js';
import type { HttpAddress, HttpOptions, MetricsSnapshot } from '../metrics/types.js';
import type {
  PluginContext,
  PluginHoldings,
  RuntimeLimits,
  RuntimeStats,
} from '../context/types.js';

/** A semver range, as in `package.json` (`^1.0.0`, `>=2 <3`). */
export type SemverRange = string;

/**
 * What `definePlugin` accepts: the plugin's manifest and its lifecycle functions.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   name: 'calculator-plugin',
 *   version: '1.0.0',
 *   dependencies: { 'auth-plugin': '^1.0.0' },
 *   permissions: ['rpc:register:calculator'],
 *   async activate(context) {
 *     context.rpcServer.register('calculator', { add: (a: number, b: number) => a + b });
 *   },
 * });
 * ```
 */
export interface PluginSpec {
  /** Unique name in the host; dotted-name characters only (`auth-plugin`, `@acme/billing`). */
  name: string;
  /** The plugin's own version, valid semver (`1.2.0`). */
  version: string;
  /** Other plugins this one needs, by name, with the semver range they must satisfy. */
  dependencies?: Readonly<Record<string, SemverRange>>;
  /** The Plugboard versions this plugin supports (`'^0.1.0'`); checked when the host loads it. */
  plugboard?: SemverRange;
  /**
   * Capabilities the plugin's context may use (`area:action:pattern`, e.g.
   * `events:publish:user.*`), enforced on every call. Without a list the plugin is trusted,
   * unless the host runs with `strictPermissions: true`; an empty list allows nothing.
   */
  permissions?: readonly string[];
  /** Configuration handed to the plugin as `context.options`. */
  options?: Readonly<Record<string, unknown>>;
  /** Bound on `activate`, ms; overrides the host's `activateTimeout`. */
  activateTimeout?: number;
  /** Bound on `deactivate` and on releasing the plugin's resources, ms; overrides the host's `deactivateTimeout`. */
  deactivateTimeout?: number;
  /** Start the plugin: subscribe, register services, start timers. Throwing (or timing out) fails the plugin. */
  activate(context: PluginContext): void | Promise<void>;
  /**
   * Stop the plugin. Optional: whatever the plugin created through its context is released by
   * the host anyway; use it for resources the host cannot see (files, sockets, clients).
   */
  deactivate?(context: PluginContext): void | Promise<void>;
}

/** A validated, frozen plugin, as returned by `definePlugin` or loaded from a folder. */
export interface PluginDefinition {
  readonly name: string;
  readonly version: string;
  readonly dependencies: Readonly<Record<string, SemverRange>>;
  /** The Plugboard versions the plugin supports, if it said. */
  readonly plugboard?: SemverRange;
  /** Declared capabilities; undefined when the plugin declares no list. */
  readonly permissions: readonly string[] | undefined;
  readonly options: Readonly<Record<string, unknown>>;
  readonly activateTimeout: number | undefined;
  readonly deactivateTimeout: number | undefined;
  /** Bound to the original plugin object, so it can be called detached. */
  readonly activate: (context: PluginContext) => void | Promise<void>;
  readonly deactivate?: (context: PluginContext) => void | Promise<void>;
}

/** Where a plugin came from. */
export type PluginSource =
  { readonly kind: 'definition' } | { readonly kind: 'folder'; readonly path: string };

/**
 * A plugin ready for the dependency graph: its definition plus what the loader learned about
 * its `dependencies` entries.
 */
export interface LoadedPlugin {
  readonly definition: PluginDefinition;
  readonly source: PluginSource;
  /**
   * Entries of `dependencies` that may be ordinary npm packages (folder plugins only): each is a
   * plugin dependency when a plugin of that name is in the host, and ignored otherwise.
   */
  readonly npmCandidates: ReadonlySet<string>;
}

/** What `createHost({ plugins })` and `host.use()` accept: a plugin object or a plugin folder path. */
export type PluginEntry = PluginDefinition | PluginSpec | string;

/** Options of {@link createHost}. Durations in milliseconds. */
export interface HostOptions {
  /** Plugins to host: `definePlugin` objects (or plain specs) and/or paths of plugin folders. */
  plugins?: readonly PluginEntry[];
  /** A folder whose subfolders (each with a `package.json`) are plugins, loaded in name order. */
  pluginDirectory?: string;
  /** Where state lives and how hosts form a cluster. Default `'memory'`. */
  backend?: BackendOption;
  /** This host's id in the cluster. Default: a random id. */
  nodeId?: string;
  /**
   * A pino logger, or `false` for none (silent). Default: pino at level `logLevel`.
   */
  logger?: Logger | false;
  /**
   * Level of the host's logger (`trace`, `debug`, `info`, `warn`, `error`, `fatal`, `silent`).
   * With the default logger: its level; with a given logger: the level of the host's child
   * loggers. Default: `PLUGBOARD_LOG_LEVEL`, else `info` (default logger) or the given logger's.
   * @throws ValidationError (from `createHost`) for any other value, here or in the variable.
   */
  logLevel?: LogLevel;
  /** Default bound on each plugin's `activate`. Default 10000. */
  activateTimeout?: number;
  /** Default bound on each plugin's `deactivate` (and on waiting for its in-flight work). Default 5000. */
  deactivateTimeout?: number;
  /** Bound on the whole `host.stop()`, backend close included. Default 15000. */
  stopTimeout?: number;
  /**
   * Bound on connecting and starting the backend in `host.start()`; past it, `start()` rejects
   * with `BackendUnavailableError` naming the backend. Default 30000.
   */
  startTimeout?: number;
  /**
   * What the host does with unhandled promise rejections while it runs (from `start()` until
   * `stop()` finished). With a listener installed, Node no longer exits on them; the host logs
   * each one and keeps running.
   * - `'report'` (default): attribute by the rejection reason's stack trace, at rejection time
   *   only (no run-time cost). Each plugin has a source location: a folder plugin its folder, a
   *   `definePlugin` plugin the file that called `definePlugin` (plain specs given to
   *   `createHost`/`use` have none). The first stack frame, outside plugboard itself, in a
   *   plugin's file (or folder; the deepest folder wins) names the plugin: the rejection is
   *   logged and published as `plugin.error` naming it (event `unhandledRejection`). Anything
   *   else is logged only: a reason that is not an `Error`, a stack without plugin frames (also
   *   past V8's `Error.stackTraceLimit`, 10 frames by default), or a frame in a file that
   *   defined several plugins. It names the code that created the error, which is usually, not
   *   always, the code that left the promise unhandled.
   * - `'trace'`: exact attribution. Each plugin's code (activate, deactivate, handlers, RPC
   *   methods, timers, background tasks) runs inside an `AsyncLocalStorage`, and Node reports a
   *   rejection in the async context of the promise. This turns on Node's promise hooks for the
   *   whole process while the host runs, which slows promise-heavy code (about 2x on local
   *   publish and RPC microbenchmarks: 4.74 M to 2.31 M ops/s).
   * - `'node'`: install nothing; Node's own policy applies (by default it exits the process).
   */
  unhandledRejections?: UnhandledRejectionPolicy;
  /** Limits shared by every building block (RPC timeout, payload size, ...). */
  limits?: Partial<RuntimeLimits>;
  /**
   * Change-feed retention per collection (`context.dataSync`): `maxChanges` (default 10000) and
   * `maxAgeMs` (default 7 days). Older changes are trimmed as new ones are published.
   */
  dataSync?: DataSyncOptions;
  /**
   * The shared cache (`context.cache`): `maxValueBytes` bounds an encoded value (default:
   * `limits.maxPayloadBytes`); larger values are refused with `PayloadTooLargeError`.
   */
  cache?: CacheOptions;
  /**
   * Transactions (`context.transactionManager`): prepare timeout, coordinator lease, recovery
   * period, retention, and the embedded backend's log file.
   */
  transactions?: TransactionOptions;
  /** Resilience policies per RPC service and per queue, applied by configuration. */
  resilience?: ResilienceOptions;
  /**
   * Collect metrics for every building block (`host.metrics()`, `GET /metrics`). Default true;
   * `false` removes the counting from the hot paths (and `host.metrics()` rejects).
   */
  metrics?: boolean;
  /**
   * Serve `GET /metrics` (Prometheus text) and `GET /health` (JSON; 200 when the host runs with
   * every plugin active and every backend connection up, else 503) on this port from `start()`
   * until `stop()`. `host` defaults to `127.0.0.1`. CLI: `plugboard start --http <port>`.
   */
  http?: HttpOptions;
  /**
   * Parity mode: every payload delivered within this process (event data to local subscribers,
   * RPC params and results of local calls, errors thrown by local RPC methods) is round-tripped
   * through the same codec and `maxPayloadBytes` limit as a payload sent to another node. So a
   * function, symbol, circular object or too-large payload fails with the same
   * `SerializationError`/`PayloadTooLargeError` as on Redis, class instances arrive as plain
   * objects, and each subscriber gets its own copy. Off, local payloads are passed by reference
   * (the same object to every local subscriber and method; fastest). Plugin chains always pass
   * their data by reference: they never leave the node. Default: on unless
   * `NODE_ENV === 'production'`.
   */
  parity?: boolean;
  /**
   * Tracing: the trace of the running work (an event's, a queue message's, an RPC call's) also
   * survives `await`s (an `AsyncLocalStorage`; otherwise it is known only until the work's first
   * `await`), and, once the application has registered an OpenTelemetry SDK, spans are started
   * through the OpenTelemetry API for publish, handler delivery, queue send and processing, and
   * RPC calls (client and server), linked across nodes by the W3C `traceparent` carried in
   * events, messages and RPC requests; the trace id is then the OpenTelemetry trace id. Without
   * an SDK no span is started. Process-wide once on: a host created with it turns it on for every
   * host of the process. Default: on when an OpenTelemetry tracer provider is registered when the
   * host is created, else off (trace ids are still carried everywhere, RPC requests included).
   */
  tracing?: boolean;
  /**
   * Encryption keys for `context.encryptionService`, by key id: each a 32-byte key in base64
   * (`{ 'data-encryption-key': '<openssl rand -base64 32>' }`, version 1) or its versions
   * (`{ 'data-encryption-key': { versions: { 1: '<b64>', 2: '<b64>' } } }`: new data uses the
   * newest, or `active`; every listed version still decrypts). Or a {@link KeyProvider} (a
   * KMS). Omitted: keys are read from the environment at start, `PLUGBOARD_KEY_<ID>` (version
   * 1) and `PLUGBOARD_KEY_<ID>_V<n>` (version n), where `<ID>` is the key id upper-cased with
   * every other character than A-Z and 0-9 turned into `_` (`data-encryption-key` →
   * `PLUGBOARD_KEY_DATA_ENCRYPTION_KEY`; such ids are lower-case letters, digits and single
   * dashes). Validated by `createHost`; never logged.
   */
  keys?: KeyConfig | KeyProvider;
  /** Key cache, usage limits and batching of `context.encryptionService` (see {@link EncryptionOptions}). */
  encryption?: EncryptionOptions;
  /**
   * Deny every capability to plugins without a `permissions` list instead of trusting them.
   * Default false (development): a plugin without a list may do anything, a plugin with a list
   * only what it lists.
   */
  strictPermissions?: boolean;
  /**
   * Roles and actors for `context.permissionService`: validated by `createHost` (a
   * `ValidationError` names the field, e.g. `permissionPolicy.roles.admin.rules[1]`) and written
   * to the cluster's policy store at start, replacing what it holds under the names configured
   * here; roles and actors made at runtime under other names are kept.
   */
  permissionPolicy?: PermissionPolicyOptions;
  /** Where and how the audit log is kept (`context.auditLogger`). */
  audit?: AuditOptions;
  /**
   * Fail `start()` when any plugin fails to activate (or is skipped because a dependency did):
   * `start()` stops the host again and rejects with `PluginStartError` naming them. Default
   * `false`: `start()` resolves `{ ok: false, failed, skipped }` and logs one warning naming
   * them; check `ok`. CLI: `plugboard start --strict-start`.
   */
  strictStart?: boolean;
}

/** See {@link HostOptions.unhandledRejections}. */
export type UnhandledRejectionPolicy = 'report' | 'trace' | 'node';

/** The pino levels, plus `silent`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** A key's bytes: 32 bytes, given as base64 text or as bytes. */
export type KeyMaterial = string | Uint8Array;

/** Every version of one key id; new data uses `active` (default: the highest version). */
export interface VersionedKey {
  readonly versions: Readonly<Record<number, KeyMaterial>>;
  readonly active?: number;
}

/** `createHost({ keys })` as configuration: key id → its key (version 1) or its versions. */
export type KeyConfig = Readonly<Record<string, KeyMaterial | VersionedKey>>;

/**
 * Supplies encryption keys by id and version, e.g. from a KMS. The host caches what it returns
 * (bounded, for `encryption.keyCacheMs`) and asks again for the newest version when that
 * lapses (or on `encryptionService.refreshKey`): publishing a new version in the provider
 * rotates the key on every host.
 */
export interface KeyProvider {
  /**
   * The key `keyId` at `version`, or its newest version when `version` is undefined; undefined
   * (or a `KeyNotFoundError`) when there is none. `key` must be 32 bytes (base64 or bytes).
   */
  getKey(
    keyId: string,
    version?: number,
  ): Promise<{ key: KeyMaterial; version: number } | undefined>;
}

/** `createHost({ encryption })`. */
export interface EncryptionOptions {
  /** How long a key from a {@link KeyProvider} is cached, ms (default 60000). */
  readonly keyCacheMs?: number;
  /** Longest a {@link KeyProvider} call may take, ms, before it fails with `TimeoutError` (default 10000). */
  readonly keyProviderTimeoutMs?: number;
  /** Most provider keys cached at once (default 1000; the least recently used go first). */
  readonly maxCachedKeys?: number;
  /**
   * Encryptions under one key version, cluster-wide, after which each flush logs a warning to
   * rotate (default 2^31).
   */
  readonly usageWarnAt?: number;
  /**
   * Encryptions under one key version after which encrypt is refused with `KeyExhaustedError`
   * until a newer version exists (default 2^32, the AES-GCM limit for random 96-bit nonces).
   */
  readonly usageLimit?: number;
  /** Uses counted locally before they are added to the cluster-wide count (default 1000). */
  readonly usageFlushEvery?: number;
  /** Longest a local count waits before it is added, ms (default 1000). */
  readonly usageFlushMs?: number;
}

/** Where a plugin stands. */
export type PluginState =
  /** Known to the host, not started yet. */
  | 'pending'
  | 'activating'
  | 'active'
  /** Its `activate` threw or timed out; its context was released. */
  | 'failed'
  /** Not started because a plugin it depends on failed or was skipped, or the host began stopping. */
  | 'skipped'
  | 'deactivating'
  /** Deactivated and released (check `error` for a failed `deactivate`). */
  | 'stopped';

/** Where the host stands. */
export type HostStatus = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** The error recorded against a plugin. */
export interface RecordedError {
  readonly code: string;
  readonly name: string;
  readonly message: string;
}

/** One plugin in `host.health()`. Times are epoch milliseconds; durations milliseconds. */
export interface PluginHealth {
  readonly name: string;
  readonly version: string;
  readonly state: PluginState;
  /** Why the plugin is `failed` or `skipped`, or why its stop was not clean. */
  readonly reason: string | undefined;
  /** The activation or deactivation error, if any. */
  readonly error: RecordedError | undefined;
  /** Activation level (0 = no dependencies); `undefined` before the graph is resolved. */
  readonly level: number | undefined;
  readonly activateStartedAt: number | undefined;
  readonly activationMs: number | undefined;
  readonly deactivateStartedAt: number | undefined;
  readonly deactivationMs: number | undefined;
  /** What the plugin holds now (zero everywhere once stopped); `undefined` when it never had a context. */
  readonly holdings: PluginHoldings | undefined;
  /** Work still running when the release bound passed at stop (handler or task names). */
  readonly unfinished: readonly string[];
  /** True while the plugin is active but one of the circuit breakers it created is open. */
  readonly degraded: boolean;
  /** The circuit breakers it created (`circuitBreakerFactory.create`) that are open now. */
  readonly openBreakers: readonly string[];
}

/** `host.health()`: the host and every plugin. */
export interface HostHealth {
  readonly status: HostStatus;
  /** True when the host is running and every plugin is active. */
  readonly ok: boolean;
  readonly nodeId: string;
  /** `memory`, `redis`, ...; `undefined` until the backend is resolved. */
  readonly backend: string | undefined;
  readonly startedAt: number | undefined;
  /** Duration of `start()`, once it finished. */
  readonly startMs: number | undefined;
  /** Activation levels: plugins in one level started in parallel, levels in order. */
  readonly levels: readonly (readonly string[])[];
  /** Every plugin by name, in activation order. */
  readonly plugins: Readonly<Record<string, PluginHealth>>;
  /** What the building blocks hold host-wide; `undefined` before the runtime exists or after it closed. */
  readonly runtime: RuntimeStats | undefined;
  /** Why `start()` failed (graph, manifest or backend error), if it did. */
  readonly error: RecordedError | undefined;
  /**
   * Each backend connection while the backend is open (Redis: `commands` and `subscriber`; the
   * memory backend: one entry, `memory`); empty before it connects and after it closed.
   */
  readonly connections: readonly BackendConnectionHealth[];
  /** Plugins that are active but degraded (one of their circuit breakers is open). */
  readonly degraded: readonly string[];
}

/** Static facts about one hosted plugin (`host.plugins`). */
export interface PluginInfo {
  readonly name: string;
  readonly version: string;
  readonly dependencies: Readonly<Record<string, SemverRange>>;
  /** Declared capabilities; undefined when the plugin declares no list. */
  readonly permissions: readonly string[] | undefined;
  readonly source: PluginSource;
  readonly state: PluginState;
}

/** One step of the lifecycle, in the order it happened (avvio-style time record). */
export interface TimelineEntry {
  /** A plugin name, or `host` for host steps (`load`, `graph`, `backend`, `runtime`, `stop`). */
  readonly subject: string;
  readonly phase:
    'load' | 'graph' | 'backend' | 'runtime' | 'activate' | 'deactivate' | 'release' | 'stop';
  readonly outcome: 'ok' | 'failed' | 'timeout' | 'skipped';
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** Activation level, for plugin steps. */
  readonly level?: number;
  readonly detail?: string;
}

/**
 * Something that happened to a plugin, as told to `host.onLifecycle` listeners (and published on
 * the event bus as `plugin.<type>` by the host).
 */
export type LifecycleEvent =
  | { readonly type: 'activating'; readonly plugin: string; readonly level: number }
  | {
      readonly type: 'activated';
      readonly plugin: string;
      readonly version: string;
      readonly durationMs: number;
    }
  | {
      readonly type: 'failed';
      readonly plugin: string;
      readonly error: RecordedError;
      readonly durationMs: number;
    }
  | { readonly type: 'skipped'; readonly plugin: string; readonly reason: string }
  | {
      readonly type: 'stopped';
      readonly plugin: string;
      readonly durationMs: number;
      readonly error: RecordedError | undefined;
      readonly unfinished: readonly string[];
    };

/** What `host.start()` resolves with: which plugins run and which do not (names in activation order). */
export interface StartResult {
  /** True when every plugin is active. */
  readonly ok: boolean;
  readonly active: readonly string[];
  /** Plugins whose `activate` threw or timed out (see `health()` for the errors). */
  readonly failed: readonly string[];
  /** Plugins not started because a dependency is not active (or the host began stopping). */
  readonly skipped: readonly string[];
}

/** What `host.reload()` did: the reloaded plugin first, then its dependents, in start order. */
export interface ReloadResult {
  /** True when the plugin and every plugin restarted with it are active again. */
  readonly ok: boolean;
  /** Every plugin that was stopped and started again, in activation order (the plugin first). */
  readonly restarted: readonly string[];
  readonly active: readonly string[];
  /** Plugins whose `activate` threw or timed out (see `health()` for the errors). */
  readonly failed: readonly string[];
  /** Plugins not started again because a dependency is not active. */
  readonly skipped: readonly string[];
}

/**
 * Events the host publishes on the event bus (`meta.source === 'host'`), by name. Declare them in
 * `PlugboardEvents` to get typed subscriptions.
 */
export interface HostEvents {
  'plugin.activated': { pluginId: string; nodeId: string; version: string; durationMs: number };
  'plugin.failed': { pluginId: string; nodeId: string; error: RecordedError; durationMs: number };
  'plugin.skipped': { pluginId: string; nodeId: string; reason: string };
  'plugin.stopped': {
    pluginId: string;
    nodeId: string;
    durationMs: number;
    error: RecordedError | undefined;
    unfinished: readonly string[];
  };
}

/** A hosted set of plugins sharing one runtime and backend. */
export interface Host {
  /** This host's node id. */
  readonly nodeId: string;
  /** True when plugins without a `permissions` list are denied every capability. */
  readonly strictPermissions: boolean;
  /** Every plugin the host knows of (definitions now; folder plugins once `start()` loaded them). */
  readonly plugins: readonly PluginInfo[];
  /**
   * Add a plugin (object or folder path) before `start()`.
   * @throws HostStateError after `start()` was called.
   */
  use(plugin: PluginEntry): Host;
  /**
   * Load folder plugins, resolve the dependency graph, connect the backend, then activate the
   * plugins level by level (in parallel within a level). Resolves even when some plugins
   * failed, with `ok: false` (check it, or set `strictStart`): see {@link Host.health}. Calling
   * it again returns the same promise.
   *
   * Rejects (never throws) with InvalidManifestError, MissingDependencyError,
   * DependencyVersionError, DependencyCycleError or DuplicatePluginError before any plugin
   * starts; with the backend's error, or BackendUnavailableError naming the backend when it is
   * not ready within `startTimeout`; with HostStateError when called after `stop()`; with
   * PluginStartError when `strictStart` is set and a plugin did not start. Each plugin
   * step is bounded by its timeouts, so the promise always settles.
   * @returns which plugins are active, failed and skipped.
   */
  start(): Promise<StartResult>;
  /**
   * Deactivate the plugins in reverse activation order, release everything they hold and close
   * the backend, all within `stopTimeout`. Idempotent; works after a failed or partial start.
   */
  stop(): Promise<void>;
  /** The host's and every plugin's state now. */
  health(): HostHealth;
  /**
   * Resolves `true` once no active plugin has an event handler, RPC method or background task
   * in flight, or `false` when `timeoutMs` passes first (e.g. to let a demo finish before stopping).
   */
  idle(timeoutMs: number): Promise<boolean>;
  /** Each lifecycle step so far, in order. */
  timeline(): readonly TimelineEntry[];
  /** Be told of each plugin lifecycle event; returns a function that removes the listener. */
  onLifecycle(listener: (event: LifecycleEvent) => void): () => void;
  /**
   * Replace one plugin of a running host without restarting the others: load its new code
   * (`plugin`: a definition or a folder path; omitted: its folder again, its `main` imported
   * fresh), stop the plugins that depend on it (transitively, in reverse activation order), stop
   * it and release everything it held, then activate the new version and start its dependents
   * again with their own definitions. The usual lifecycle events, timeline entries and audit
   * entries are recorded for each step. The new version must keep the name; its dependencies
   * may change (the graph is checked again). Calls are serialized.
   *
   * Rejects, with nothing stopped (the old version keeps running), when the new code cannot be
   * loaded (InvalidManifestError: a syntax error names the file and line), when its name differs
   * (ValidationError) or the new dependencies do not resolve (MissingDependencyError, ...);
   * with HostStateError unless the host is running, ValidationError for an unknown plugin.
   * When the new version's `activate` fails, it is `failed` (with its error in `health()`) and
   * its dependents are `skipped`: fix it and reload again.
   *
   * A folder plugin's files (`main` and what it imports from its folder) are imported fresh;
   * the old versions stay in Node's module cache (ES modules cannot be evicted): each reload
   * costs the memory of the plugin's files, so this is for development (`plugboard start
   * --watch`), not for reloading in a loop in production.
   */
  reload(name: string, plugin?: PluginEntry): Promise<ReloadResult>;
  /** List and remove durable event queues, bindings and dead letters (rejects until started). */
  readonly durable: DurableAdmin;
  /**
   * Every building block's metrics on this host, as data (`MetricsSnapshot`), or in Prometheus
   * text format with `{ format: 'prometheus' }` (what `GET /metrics` serves). Counters keep
   * counting from `createHost` on; queue depths and breakers are read while the host runs.
   * Rejects with HostStateError when the host was created with `metrics: false`.
   */
  metrics(options: { readonly format: 'prometheus' }): Promise<string>;
  metrics(options?: { readonly format?: 'json' }): Promise<MetricsSnapshot>;
  /** Where `GET /metrics` and `GET /health` are served (`http` option), once started; else undefined. */
  readonly httpAddress: HttpAddress | undefined;
}
