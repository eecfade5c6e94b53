import { parsePolicyOptions } from '../security/permissions/policy-schema.js';
import type { TransactionOptions } from '../tx/types.js';
import { assertResilienceOptions } from '../resilience/configured-policies.js';
import type { ResilienceOptions } from '../resilience/types.js';
import type { Logger } from 'pino';
import type { Backend } from '../backends/ports.js';
import { resolveBackend } from '../backends/resolve.js';
import type { CacheOptions } from '../cache/types.js';
import type { Runtime, RuntimeLimits } from '../context/types.js';
import { resolveAuditOptions } from '../security/audit/audit-options.js';
import type { RuntimeInspection } from '../context/inspection.js';
import type { SecurityOptions } from '../context/runtime.js';
import { assertParityOption } from '../context/parity.js';
import {
  BackendUnavailableError,
  HostStateError,
  type MissingDependencyError,
  PluginStartError,
  TimeoutError,
  ValidationError,
} from '../errors/errors.js';
import { forwardDurableAdmin } from '../queue/durable-admin.js';
import type { DurableAdmin } from '../queue/types.js';
import { randomId } from '../util/ids.js';
import { definitionFile, toDefinition } from './define-plugin.js';
import { enableTracing, tracerProviderRegistered } from '../trace/spans.js';
import { hostLogger } from './host-logger.js';
import {
  assertCacheOptions,
  assertKeys,
  assertPermissionMode,
  assertTransactionOptions,
  dataSyncRetention,
  encryptionSettings,
} from './host-options.js';
import type { FeedRetention } from '../backends/ports.js';
import {
  announcePlugins,
  explainMissingDependency,
  mayRunElsewhere,
  resolveDependencyGraph,
  type DependencyGraph,
} from './dependency-graph.js';
import {
  activateLevels,
  activateOne,
  deactivateLevels,
  deactivateOne,
  remaining,
  type LifecycleEnv,
} from './lifecycle.js';
import { loadReplacement, restartSet } from './reload.js';
import { loadPluginFromFolder, loadPluginsFromDirectory } from './manifest.js';
import { PluginRecord, recordError } from './plugin-record.js';
import { settleWithin, withDeadline } from '../util/bound.js';
import { currentPlugin, enableAttribution } from '../util/plugin-attribution.js';
import { attributeByStack, type PluginOrigin } from '../util/stack-origin.js';
import { Timeline } from './timeline.js';
import { HostMetrics } from '../metrics/host-metrics.js';
import { assertHttpOptions, startHttpServer, type HostHttpServer } from '../metrics/http-server.js';
import type { HttpAddress, MetricsSnapshot } from '../metrics/types.js';
import type {
  Host,
  HostEvents,
  HostHealth,
  HostOptions,
  HostStatus,
  LifecycleEvent,
  LoadedPlugin,
  PluginEntry,
  PluginHealth,
  PluginInfo,
  RecordedError,
  ReloadResult,
  StartResult,
  TimelineEntry,
  UnhandledRejectionPolicy,
} from './types.js';

/** Builds the runtime over a backend (`createRuntime` from `src/context/runtime.ts`). */
export type RuntimeFactory = (options: {
  backend: Backend;
  logger: Logger;
  limits?: Partial<RuntimeLimits>;
  cache?: CacheOptions;
  parity?: boolean;
  dataSync?: FeedRetention;
  transactions?: TransactionOptions;
  resilience?: ResilienceOptions;
  security?: SecurityOptions;
  metrics?: HostMetrics;
}) => Runtime;

const DEFAULTS = {
  activateTimeout: 10_000,
  deactivateTimeout: 5_000,
  stopTimeout: 15_000,
  startTimeout: 30_000,
} as const;

/**
 * The host: owns the plugins' lifecycle, the runtime and the backend. Built by `createHost`;
 * the runtime factory is a constructor argument so the lifecycle can be tested on its own.
 */
export class PluginHost implements Host {
  readonly nodeId: string;
  /** Encryption keys (validated; undefined: the encryption service reads the environment). */
  readonly keys: HostOptions['keys'];
  /** True when plugins without a `permissions` list are denied every capability. */
  readonly strictPermissions: boolean;

  private readonly options: HostOptions;
  private readonly rootLogger: Logger;
  private readonly logger: Logger;
  private readonly createRuntime: RuntimeFactory;
  private readonly retention: FeedRetention;
  private readonly entries: PluginEntry[] = [];
  private readonly records = new Map<string, PluginRecord>();
  private readonly timelineLog = new Timeline();
  private readonly listeners = new Set<(event: LifecycleEvent) => void>();
  private readonly publishes = new Set<Promise<void>>();
  private readonly timeouts: {
    activate: number;
    deactivate: number;
    stop: number;
    start: number;
  };
  private status: HostStatus = 'created';
  private graph: DependencyGraph | undefined;
  private backend: Backend | undefined;
  private runtime: Runtime | undefined;
  private startError: RecordedError | undefined;
  private startedAt: number | undefined;
  private startMs: number | undefined;
  private starting: Promise<StartResult> | undefined;
  private stopping: Promise<void> | undefined;
  /** The last reload (reloads run one at a time). */
  private reloading: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly rejectionPolicy: UnhandledRejectionPolicy;
  /** Removes the unhandled-rejection listener and stops attribution (set while guarding). */
  private releaseGuard: (() => void) | undefined;
  /** Set when stop() begins deactivating: a start still running must undo what it creates. */
  private shutDownStarted = false;
  /** This host's metrics (its own prom-client registry); undefined with `metrics: false`. */
  private readonly hostMetrics: HostMetrics | undefined;
  /** The `http` option's server while the host runs. */
  private httpServer: HostHttpServer | undefined;
  /** Durable event queues of the cluster; rejects while the host is not running. */
  readonly durable: DurableAdmin = forwardDurableAdmin(
    () => (this.closed ? undefined : this.runtime?.durable),
    () => new HostStateError('host.durable needs a started host (start() it first).'),
  );

  constructor(options: HostOptions, createRuntime: RuntimeFactory) {
    this.options = options;
    this.createRuntime = createRuntime;
    this.timeouts = {
      activate: positive(options.activateTimeout, 'activateTimeout') ?? DEFAULTS.activateTimeout,
      deactivate:
        positive(options.deactivateTimeout, 'deactivateTimeout') ?? DEFAULTS.deactivateTimeout,
      stop: positive(options.stopTimeout, 'stopTimeout') ?? DEFAULTS.stopTimeout,
      start: positive(options.startTimeout, 'startTimeout') ?? DEFAULTS.startTimeout,
    };
    this.nodeId = options.nodeId ?? randomId();
    if (typeof this.nodeId !== 'string' || this.nodeId.length === 0) {
      throw new ValidationError('Host option "nodeId" must be a non-empty string.', {
        details: { field: 'nodeId' },
      });
    }
    assertPermissionMode(options.strictPermissions);
    if (options.strictStart !== undefined && typeof options.strictStart !== 'boolean') {
      throw new ValidationError('Host option "strictStart" must be a boolean.', {
        details: { field: 'strictStart' },
      });
    }
    assertParityOption(options.parity);
    if (options.tracing !== undefined && typeof options.tracing !== 'boolean') {
      throw new ValidationError('Host option "tracing" must be a boolean.', {
        details: { field: 'tracing' },
      });
    }
    if (options.tracing ?? tracerProviderRegistered()) enableTracing();
    this.retention = dataSyncRetention(options.dataSync);
    this.keys = assertKeys(options.keys);
    encryptionSettings(options.encryption);
    assertCacheOptions(options.cache);
    assertResilienceOptions(options.resilience);
    assertTransactionOptions(options.transactions);
    if (options.permissionPolicy !== undefined) parsePolicyOptions(options.permissionPolicy);
    resolveAuditOptions(options.audit);
    if (options.metrics !== undefined && typeof options.metrics !== 'boolean') {
      throw new ValidationError('Host option "metrics" must be a boolean.', {
        details: { field: 'metrics' },
      });
    }
    assertHttpOptions(options.http);
    this.hostMetrics =
      options.metrics === false ? undefined : new HostMetrics({ nodeId: this.nodeId });
    this.strictPermissions = options.strictPermissions ?? false;
    this.rootLogger = hostLogger(options.logger, options.logLevel);
    this.rejectionPolicy = rejectionPolicy(options.unhandledRejections);
    this.logger = this.rootLogger.child({ component: 'host', nodeId: this.nodeId });
    for (const entry of options.plugins ?? []) this.use(entry);
  }

  get plugins(): readonly PluginInfo[] {
    if (this.records.size > 0) return [...this.records.values()].map((r) => r.info());
    return this.entries.flatMap((entry) => {
      if (typeof entry === 'string') return [];
      const definition = toDefinition(entry);
      return [
        new PluginRecord({
          definition,
          source: { kind: 'definition' },
          npmCandidates: new Set(),
        }).info(),
      ];
    });
  }

  use(plugin: PluginEntry): Host {
    if (this.status !== 'created') {
      throw new HostStateError(
        `host.use() must be called before host.start() (the host is ${this.status}).`,
        {
          details: { status: this.status },
        },
      );
    }
    // Plugin objects are validated now, so a bad definition fails where it is added.
    this.entries.push(typeof plugin === 'string' ? plugin : toDefinition(plugin));
    return this;
  }

  start(): Promise<StartResult> {
    if (this.stopping !== undefined) {
      return Promise.reject(
        new HostStateError(
          `A host cannot be started once stop() was called (it is ${this.status}).`,
          { details: { status: this.status } },
        ),
      );
    }
    if (this.starting !== undefined) return this.starting;
    this.status = 'starting';
    this.starting = this.runStart();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  reload(name: string, plugin?: PluginEntry): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.runReload(name, plugin));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  health(): HostHealth {
    const plugins: Record<string, PluginHealth> = {};
    const open = this.closed ? undefined : this.runtime?.openBreakersOf?.bind(this.runtime);
    for (const record of this.ordered())
      plugins[record.name] = record.health(open?.(record.name) ?? []);
    const all = Object.values(plugins);
    const connections =
      this.runtime === undefined || this.closed ? [] : (this.runtime.connections?.() ?? []);
    return Object.freeze({
      status: this.status,
      ok: this.status === 'running' && all.every((p) => p.state === 'active'),
      nodeId: this.nodeId,
      backend: this.runtime?.backendKind ?? this.backend?.kind,
      startedAt: this.startedAt,
      startMs: this.startMs,
      levels: this.graph?.levels ?? [],
      plugins,
      runtime: this.runtime === undefined || this.closed ? undefined : this.runtime.stats(),
      error: this.startError,
      connections: Object.freeze(connections),
      degraded: Object.freeze(all.filter((p) => p.degraded).map((p) => p.name)),
    });
  }

  metrics(options: { readonly format: 'prometheus' }): Promise<string>;
  metrics(options?: { readonly format?: 'json' }): Promise<MetricsSnapshot>;
  metrics(options?: {
    readonly format?: 'json' | 'prometheus';
  }): Promise<MetricsSnapshot | string> {
    const format = options?.format ?? 'json';
    if (format !== 'json' && format !== 'prometheus') {
      return Promise.reject(
        new ValidationError(
          `host.metrics({ format }) takes 'json' or 'prometheus', got ${String(format)}.`,
          { details: { field: 'format' } },
        ),
      );
    }
    const metrics = this.hostMetrics;
    if (metrics === undefined) {
      return Promise.reject(
        new HostStateError('Metrics are off for this host (createHost({ metrics: false })).'),
      );
    }
    return format === 'prometheus' ? metrics.prometheus() : metrics.snapshot();
  }

  get httpAddress(): HttpAddress | undefined {
    return this.httpServer?.address;
  }

  async idle(timeoutMs: number): Promise<boolean> {
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      throw new ValidationError(
        `host.idle(timeoutMs) needs a non-negative number of milliseconds, got ${String(timeoutMs)}.`,
        { details: { field: 'timeoutMs' } },
      );
    }
    const scopes = this.ordered().flatMap((record) =>
      record.scoped === undefined ? [] : [record.scoped],
    );
    const outcome = await settleWithin(
      Promise.all(scopes.map((scoped) => scoped.idle())),
      timeoutMs,
    );
    return outcome.status === 'ok';
  }

  /**
   * Read-only views into the running runtime's cores (the dashboard); undefined before the
   * runtime exists and once it closed.
   * @internal
   */
  inspect(): RuntimeInspection | undefined {
    if (this.closed || this.runtime === undefined) return undefined;
    return this.runtime.inspect?.();
  }

  timeline(): readonly TimelineEntry[] {
    return this.timelineLog.entries();
  }

  onLifecycle(listener: (event: LifecycleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- start -----------------------------------------------------------------------------------

  private async runStart(): Promise<StartResult> {
    this.guardRejections();
    this.startedAt = Date.now();
    const started = performance.now();
    try {
      // Serving /health from the start: a probe sees `starting` (503), then `running`.
      if (this.options.http !== undefined)
        this.httpServer = await startHttpServer(this, this.options.http);
      const loaded = await this.step('load', () => this.loadAll());
      // A missing dependency may run on another node: the error says so once connected.
      let missing: MissingDependencyError | undefined;
      const graph = await this.step('graph', () => resolveDependencyGraph(loaded)).catch(
        (error: unknown) => {
          if (!mayRunElsewhere(error, this.options.backend)) throw error;
          missing = error;
          return undefined;
        },
      );
      this.graph = graph;
      for (const plugin of loaded)
        this.records.set(plugin.definition.name, new PluginRecord(plugin));
      for (const [name, level] of graph?.levelOf ?? []) this.records.get(name)!.level = level;
      this.logger.debug({ levels: graph?.levels }, 'Plugin dependency graph resolved');

      this.backend = await this.step('backend', () =>
        this.bounded(
          'connecting',
          resolveBackend(this.options.backend, {
            nodeId: this.nodeId,
            logger: this.rootLogger,
            transactionLog: this.options.transactions?.logFile,
            auditLog: this.options.audit?.file,
          }),
          undefined,
          (backend) => backend.close(),
        ),
      );
      const backend = this.backend;
      if (this.shutDownStarted) {
        // stop() gave up waiting for this start and has shut down already: leave nothing open.
        await backend.close();
        throw new HostStateError('The host was stopped while it was starting.');
      }
      this.runtime = await this.step('runtime', async () => {
        const runtime = this.createRuntime({
          backend,
          logger: this.rootLogger,
          ...(this.options.limits === undefined ? {} : { limits: this.options.limits }),
          ...(this.options.parity === undefined ? {} : { parity: this.options.parity }),
          dataSync: this.retention,
          ...(this.options.cache === undefined ? {} : { cache: this.options.cache }),
          ...(this.options.transactions === undefined
            ? {}
            : { transactions: this.options.transactions }),
          ...(this.options.resilience === undefined ? {} : { resilience: this.options.resilience }),
          ...(this.hostMetrics === undefined ? {} : { metrics: this.hostMetrics }),
          security: {
            strictPermissions: this.strictPermissions,
            ...(this.keys === undefined ? {} : { keys: this.keys }),
            ...(this.options.encryption === undefined
              ? {}
              : { encryption: this.options.encryption }),
            ...(this.options.permissionPolicy === undefined
              ? {}
              : { permissionPolicy: this.options.permissionPolicy }),
            ...(this.options.audit === undefined ? {} : { audit: this.options.audit }),
          },
        });
        this.runtime = runtime;
        await this.bounded('starting', runtime.start(), backend.kind);
        return runtime;
      });
      if (this.shutDownStarted) {
        await this.runtime.close();
        throw new HostStateError('The host was stopped while it was starting.');
      }
      // Looked up once the backend has started (a Redis backend answers only then).
      if (missing !== undefined) throw await explainMissingDependency(missing, backend);
      await this.bounded('starting', announcePlugins(backend, loaded), backend.kind);
      this.logger.info(
        { backend: this.runtime.backendKind, plugins: loaded.length },
        'Host starting plugins',
      );

      await activateLevels(this.lifecycleEnv(), () => this.stopping !== undefined);
      this.startMs = performance.now() - started;
      if (this.status === 'starting') this.status = 'running';
      const failed = this.ordered().filter((r) => r.state === 'failed' || r.state === 'skipped');
      const named = (state: string): string[] =>
        this.ordered()
          .filter((r) => r.state === state)
          .map((r) => r.name);
      const result: StartResult = Object.freeze({
        ok: failed.length === 0,
        active: named('active'),
        failed: named('failed'),
        skipped: named('skipped'),
      });
      if (failed.length === 0) {
        this.logger.info(
          { startMs: Math.round(this.startMs), active: result.active.length },
          'Host started',
        );
        return result;
      }
      const summary = failed
        .map((r) =>
          r.state === 'failed'
            ? `"${r.name}" failed (${failureReason(r)})`
            : `"${r.name}" not started (${r.reason ?? 'skipped'})`,
        )
        .join('; ');
      if (this.options.strictStart === true) {
        throw new PluginStartError(
          `${failed.length} of ${this.records.size} plugins did not start (strictStart): ${summary}.`,
          {
            details: {
              failed: result.failed,
              skipped: result.skipped,
              errors: Object.fromEntries(
                failed.filter((r) => r.state === 'failed').map((r) => [r.name, failureReason(r)]),
              ),
            },
          },
        );
      }
      // One line a person reads: start() resolved, but not everything runs.
      this.logger.warn(
        {
          startMs: Math.round(this.startMs),
          active: result.active.length,
          failed: result.failed,
          skipped: result.skipped,
        },
        `Host started with ${result.active.length} of ${this.records.size} plugins: ${summary}. ` +
          'start() resolved { ok: false }; set strictStart to fail instead.',
      );
      return result;
    } catch (error) {
      this.startMs = performance.now() - started;
      this.status = 'failed';
      this.startError = recordError(error);
      // start() rejects with this error: whoever awaits it reports it (once). Logged at debug
      // only, so a terminal does not show the same failure twice.
      this.logger.debug({ err: error }, `Host failed to start: ${this.startError.message}`);
      // Whatever was already created is released now, so a failed start leaks nothing even
      // when the caller never calls stop().
      await this.shutdown(Date.now() + this.timeouts.stop);
      throw error;
    }
  }

  /**
   * Bound a backend step by `startTimeout`: a backend that never connects (a wrong address, a
   * server that accepts but never answers) fails `start()` with `BackendUnavailableError` naming
   * it, instead of leaving `start()` pending forever.
   */
  private bounded<T>(
    phase: string,
    work: Promise<T>,
    kind?: string,
    late?: (value: T) => unknown,
  ): Promise<T> {
    const timeoutMs = this.timeouts.start;
    const name = kind ?? backendName(this.options.backend);
    return withDeadline(work, timeoutMs, () => {
      // What arrives after the bound is not wanted any more: let it go.
      if (late !== undefined) work.then(late).catch(() => undefined);
      const cause = new TimeoutError(`${phase} the ${name} backend exceeded ${timeoutMs} ms`, {
        details: { timeoutMs },
      });
      return new BackendUnavailableError(
        `The ${name} backend did not become ready within ${timeoutMs} ms (startTimeout) while ${phase}; check that it is reachable.`,
        { details: { backend: name, phase, timeoutMs }, cause },
      );
    });
  }

  private async loadAll(): Promise<LoadedPlugin[]> {
    const loaded: LoadedPlugin[] = [];
    if (this.options.pluginDirectory !== undefined)
      loaded.push(...(await loadPluginsFromDirectory(this.options.pluginDirectory)));
    for (const entry of this.entries) {
      if (typeof entry === 'string') loaded.push(await loadPluginFromFolder(entry));
      else
        loaded.push({
          definition: toDefinition(entry),
          source: { kind: 'definition' },
          npmCandidates: new Set(),
        });
    }
    return loaded;
  }

  /** Run one host step and put it on the timeline. */
  private async step<T>(
    phase: 'load' | 'graph' | 'backend' | 'runtime',
    fn: () => T | Promise<T>,
  ): Promise<T> {
    const startedAt = Date.now();
    const started = performance.now();
    try {
      const value = await fn();
      this.timelineLog.record({
        subject: 'host',
        phase,
        outcome: 'ok',
        startedAt,
        durationMs: performance.now() - started,
      });
      return value;
    } catch (error) {
      this.timelineLog.record({
        subject: 'host',
        phase,
        outcome: 'failed',
        startedAt,
        durationMs: performance.now() - started,
        detail: recordError(error).message,
      });
      throw error;
    }
  }

  // ---- reload ----------------------------------------------------------------------------------

  private async runReload(name: string, plugin: PluginEntry | undefined): Promise<ReloadResult> {
    if (this.status !== 'running' || this.stopping !== undefined || this.graph === undefined) {
      throw new HostStateError(
        `host.reload() needs a running host (the host is ${this.stopping === undefined ? this.status : 'stopping'}).`,
        { details: { status: this.status } },
      );
    }
    const current = this.records.get(name);
    if (current === undefined) {
      throw new ValidationError(
        `host.reload("${name}"): no plugin of that name in this host (it has ${[...this.records.keys()].map((n) => `"${n}"`).join(', ')}).`,
        { details: { field: 'name', plugin: name } },
      );
    }
    // Everything that can fail before a plugin stops is checked first: the old code keeps running.
    const loaded = await loadReplacement(current.loaded, plugin);
    const all = this.ordered().map((record) => (record === current ? loaded : record.loaded));
    const graph = resolveDependencyGraph(all);
    const restart = restartSet(graph, name);

    const deadline = Date.now() + this.timeouts.stop;
    const before = this.lifecycleEnv();
    for (const plugin of [...restart].reverse())
      await deactivateOne(before, this.records.get(plugin)!, deadline);
    this.graph = graph;
    for (const plugin of restart) {
      const old = this.records.get(plugin)!;
      this.records.set(plugin, new PluginRecord(plugin === name ? loaded : old.loaded));
    }
    for (const [plugin, level] of graph.levelOf) this.records.get(plugin)!.level = level;
    this.runtime!.auditAsHost({
      action: 'plugin.reloaded',
      actor: 'host',
      target: name,
      metadata: {
        from: current.loaded.definition.version,
        to: loaded.definition.version,
        restarted: restart,
      },
    });
    this.logger.info({ plugin: name, restarted: restart }, `Plugin "${name}" reloading`);
    const env = this.lifecycleEnv();
    for (const plugin of restart)
      await activateOne(env, this.records.get(plugin)!, () => this.stopping !== undefined);
    await settleWithin(() => announcePlugins(this.backend!, all), this.timeouts.start);
    const states = restart.map((plugin) => this.records.get(plugin)!);
    const named = (state: string): string[] =>
      states.filter((r) => r.state === state).map((r) => r.name);
    return Object.freeze({
      ok: states.every((r) => r.state === 'active'),
      restarted: restart,
      active: named('active'),
      failed: named('failed'),
      skipped: named('skipped'),
    });
  }

  // ---- stop ------------------------------------------------------------------------------------

  private async runStop(): Promise<void> {
    const deadline = Date.now() + this.timeouts.stop;
    if (this.status === 'created') {
      this.status = 'stopped';
      return;
    }
    if (this.starting !== undefined) {
      // Let a start in progress finish its current level (it launches no new one now).
      await settleWithin(() => this.starting, remaining(deadline));
    }
    // And a reload in progress finish its step (it starts nothing more once stopping).
    await settleWithin(() => this.reloading, remaining(deadline));
    if (this.status !== 'failed') {
      this.status = 'stopping';
      this.logger.info('Host stopping');
    }
    const startedAt = Date.now();
    const started = performance.now();
    await this.shutdown(deadline);
    this.timelineLog.record({
      subject: 'host',
      phase: 'stop',
      outcome: 'ok',
      startedAt,
      durationMs: performance.now() - started,
    });
    this.status = 'stopped';
    this.logger.info({ stopMs: Math.round(performance.now() - started) }, 'Host stopped');
  }

  /** Deactivate what is active, then close the runtime (or the bare backend); safe to repeat. */
  private async shutdown(deadline: number): Promise<void> {
    this.shutDownStarted = true;
    if (this.runtime !== undefined && this.graph !== undefined) {
      await deactivateLevels(this.lifecycleEnv(), deadline);
      await settleWithin(() => Promise.allSettled([...this.publishes]), remaining(deadline));
    }
    await this.closeRuntime(deadline);
    const server = this.httpServer;
    this.httpServer = undefined;
    if (server !== undefined)
      await settleWithin(() => server.close(), Math.max(remaining(deadline), 100));
    this.releaseGuard?.();
  }

  /**
   * The host's unhandled-rejection policy (`unhandledRejections`, see HostOptions): from
   * `start()` until the host has stopped, listen for `unhandledRejection` (unless `'node'`);
   * only `'trace'` tracks which plugin's code runs (`util/plugin-attribution`, promise hooks).
   * The listener is removed on stop.
   */
  private guardRejections(): void {
    if (this.rejectionPolicy === 'node' || this.releaseGuard !== undefined) return;
    const disable = this.rejectionPolicy === 'trace' ? enableAttribution() : () => undefined;
    const listener = (reason: unknown): void => this.onUnhandledRejection(reason);
    process.on('unhandledRejection', listener);
    guarding.add(this);
    this.releaseGuard = () => {
      process.off('unhandledRejection', listener);
      guarding.delete(this);
      disable();
    };
  }

  private onUnhandledRejection(reason: unknown): void {
    let pluginId: string | undefined;
    if (this.rejectionPolicy === 'trace') {
      const tag = currentPlugin();
      // Another host's plugin: that host reports it.
      if (tag !== undefined && (tag.host !== this.runtime || !this.records.has(tag.pluginId)))
        return;
      pluginId = tag?.pluginId;
    } else {
      pluginId = attributeByStack(reason, this.pluginOrigins());
      // Another running host's plugin: that host reports it.
      if (pluginId === undefined && attributedElsewhere(this, reason)) return;
    }
    if (pluginId === undefined) {
      this.logger.error(
        { err: reason },
        'Unhandled promise rejection outside any plugin; the host keeps running',
      );
      return;
    }
    const id = pluginId;
    this.logger.error(
      { plugin: id, err: reason },
      `Unhandled promise rejection in plugin "${id}"; reported as plugin.error`,
    );
    this.track('plugin.error', (runtime) =>
      runtime.reportPluginError(id, 'unhandledRejection', reason),
    );
  }

  /** Where each plugin's code lives: its folder, or the file that called `definePlugin`. */
  /** @internal */
  pluginOrigins(): PluginOrigin[] {
    const origins: PluginOrigin[] = [];
    for (const [pluginId, record] of this.records) {
      const { source, definition } = record.loaded;
      if (source.kind === 'folder') origins.push({ pluginId, dir: source.path });
      else {
        const file = definitionFile(definition);
        if (file !== undefined) origins.push({ pluginId, file });
      }
    }
    return origins;
  }

  private async closeRuntime(deadline: number): Promise<void> {
    const runtime = this.runtime;
    if (this.closed) return;
    const close =
      runtime !== undefined
        ? () => runtime.close()
        : this.backend !== undefined
          ? () => this.backend!.close()
          : undefined;
    if (close === undefined) return;
    this.closed = true;
    // Closing is attempted even when the stop bound has passed; it is just not waited for long.
    const outcome = await settleWithin(close, Math.max(remaining(deadline), 100));
    if (outcome.status === 'failed')
      this.logger.error({ err: outcome.error }, 'Closing the runtime failed');
    if (outcome.status === 'timeout')
      this.logger.error(
        { stopTimeout: this.timeouts.stop },
        'Closing the runtime did not finish within stopTimeout',
      );
  }

  // ---- shared ----------------------------------------------------------------------------------

  private lifecycleEnv(): LifecycleEnv {
    return {
      runtime: this.runtime!,
      logger: this.logger,
      graph: this.graph!,
      records: this.records,
      timeline: this.timelineLog,
      activateTimeout: this.timeouts.activate,
      deactivateTimeout: this.timeouts.deactivate,
      emit: (event) => this.emit(event),
      shutDown: () => this.shutDownStarted,
      reportError: (pluginId, event, error) => {
        this.track(`plugin.error`, (runtime) => runtime.reportPluginError(pluginId, event, error));
      },
    };
  }

  private emit(event: LifecycleEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, 'A lifecycle listener threw');
      }
    }
    const base = { pluginId: event.plugin, nodeId: this.nodeId };
    switch (event.type) {
      case 'activating':
        return;
      case 'activated':
        return this.publishHostEvent('plugin.activated', {
          ...base,
          version: event.version,
          durationMs: event.durationMs,
        });
      case 'failed':
        return this.publishHostEvent('plugin.failed', {
          ...base,
          error: event.error,
          durationMs: event.durationMs,
        });
      case 'skipped':
        return this.publishHostEvent('plugin.skipped', { ...base, reason: event.reason });
      case 'stopped':
        return this.publishHostEvent('plugin.stopped', {
          ...base,
          durationMs: event.durationMs,
          error: event.error,
          unfinished: event.unfinished,
        });
    }
  }

  private publishHostEvent<E extends keyof HostEvents>(event: E, data: HostEvents[E]): void {
    this.track(event, (runtime) => runtime.publishAsHost(event, data));
  }

  /** Publish as the host without waiting; `stop()` waits for what is still pending (bounded). */
  private track(event: string, publish: (runtime: Runtime) => Promise<void>): void {
    const runtime = this.runtime;
    if (runtime === undefined || this.closed) return;
    const pending = settleWithin(() => publish(runtime), runtime.limits.handlerTimeout).then(
      (outcome) => {
        if (outcome.status === 'failed')
          this.logger.warn({ err: outcome.error, event }, `Publishing ${event} failed`);
      },
    );
    this.publishes.add(pending);
    void pending.finally(() => this.publishes.delete(pending));
  }

  private ordered(): PluginRecord[] {
    if (this.graph === undefined) return [...this.records.values()];
    return this.graph.order.map((name) => this.records.get(name)!);
  }
}

function positive(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) {
    throw new ValidationError(
      `Host option "${field}" must be a positive number of milliseconds, got ${String(value)}.`,
      {
        details: { field },
      },
    );
  }
  return value;
}

/** Why a plugin failed, without the plugin's name that its error message starts with. */
function failureReason(record: PluginRecord): string {
  const message = record.error?.message ?? 'unknown error';
  const prefix = `Plugin "${record.name}" failed to activate: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** The backend's kind before it exists, for error messages. */
function backendName(option: HostOptions['backend']): string {
  if (option === undefined || option === 'memory') return 'memory';
  if (typeof option === 'object' && option !== null && 'redis' in option) return 'redis';
  return 'memory';
}

/** Hosts listening for unhandled rejections now (several hosts may share a process). */
const guarding = new Set<PluginHost>();

/** True when some other listening host's plugin is named by `reason`'s stack. */
function attributedElsewhere(host: PluginHost, reason: unknown): boolean {
  for (const other of guarding) {
    if (other !== host && attributeByStack(reason, other.pluginOrigins()) !== undefined)
      return true;
  }
  return false;
}

function rejectionPolicy(value: unknown): UnhandledRejectionPolicy {
  if (value === undefined) return 'report';
  if (value === 'report' || value === 'trace' || value === 'node') return value;
  throw new ValidationError(
    `Host option "unhandledRejections" must be 'report', 'trace' or 'node', got ${JSON.stringify(value)}.`,
    { details: { field: 'unhandledRejections' } },
  );
}
