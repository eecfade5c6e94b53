import type { Logger } from 'pino';
import type { PluginIdentity, Runtime } from '../context/types.js';
import { PluginActivationError, PluginDeactivationError, TimeoutError } from '../errors/errors.js';
import type { DependencyGraph } from './dependency-graph.js';
import { recordError, type PluginRecord } from './plugin-record.js';
import { settleWithin } from '../util/bound.js';
import { runAsPlugin, type PluginTag } from '../util/plugin-attribution.js';
import type { Timeline } from './timeline.js';
import type { LifecycleEvent } from './types.js';

/** What the lifecycle steps need from the host. */
export interface LifecycleEnv {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly graph: DependencyGraph;
  readonly records: ReadonlyMap<string, PluginRecord>;
  readonly timeline: Timeline;
  readonly activateTimeout: number;
  readonly deactivateTimeout: number;
  /** Tell listeners and the event bus (`plugin.<type>`); never throws. */
  emit(event: LifecycleEvent): void;
  /** True once the host's stop has gone past deactivating plugins (a late activation must undo itself). */
  shutDown(): boolean;
  /** Report a plugin failure as `plugin.error` on the bus; never throws. */
  reportError(pluginId: string, phase: string, error: unknown): void;
}

/**
 * Activate every plugin, level by level, in parallel within a level. A plugin whose activate
 * fails is recorded as `failed` (its context released); plugins depending on a plugin that is
 * not active are `skipped`; the others go on. `stopping()` true stops launching new plugins.
 */
export async function activateLevels(env: LifecycleEnv, stopping: () => boolean): Promise<void> {
  for (const level of env.graph.levels) {
    await Promise.all(level.map((name) => activateOne(env, env.records.get(name)!, stopping)));
  }
}

/** Activate one plugin (its dependencies must be active, else it is `skipped`). */
export async function activateOne(
  env: LifecycleEnv,
  record: PluginRecord,
  stopping: () => boolean,
): Promise<void> {
  const { definition } = record.loaded;
  const level = record.level ?? 0;
  const blockers = env.graph.dependenciesOf
    .get(record.name)!
    .map((d) => env.records.get(d)!)
    .filter((d) => d.state !== 'active');
  if (blockers.length > 0 || stopping()) {
    const roots = [
      ...new Set(blockers.flatMap((b) => (b.state === 'failed' ? [b.name] : b.blockedBy))),
    ].sort();
    record.blockedBy = roots;
    record.reason =
      blockers.length === 0
        ? 'the host began stopping before it was started'
        : blockers
            .map((b) =>
              b.state === 'failed'
                ? `depends on "${b.name}", which failed`
                : `depends on "${b.name}", which was not started` +
                  (b.blockedBy.length > 0
                    ? ` (${b.blockedBy.map((r) => `"${r}"`).join(', ')} failed)`
                    : ''),
            )
            .join('; ');
    record.state = 'skipped';
    env.timeline.record({
      subject: record.name,
      phase: 'activate',
      outcome: 'skipped',
      startedAt: Date.now(),
      durationMs: 0,
      level,
      detail: record.reason,
    });
    env.logger.warn(
      { plugin: record.name, reason: record.reason },
      `Plugin "${record.name}" skipped: ${record.reason}`,
    );
    env.emit({ type: 'skipped', plugin: record.name, reason: record.reason });
    return;
  }

  record.state = 'activating';
  record.activateStartedAt = Date.now();
  env.emit({ type: 'activating', plugin: record.name, level });
  const started = performance.now();
  const timeoutMs = definition.activateTimeout ?? env.activateTimeout;
  const identity: PluginIdentity = {
    name: definition.name,
    version: definition.version,
    permissions: definition.permissions,
    options: definition.options,
  };

  const outcome = await settleWithin(() => {
    record.scoped = env.runtime.createContext(identity);
    return runAsPlugin(tagOf(env, record), definition.activate, record.scoped.context);
  }, timeoutMs);
  const durationMs = performance.now() - started;
  record.activationMs = durationMs;

  if (outcome.status === 'ok') {
    record.state = 'active';
    env.timeline.record({
      subject: record.name,
      phase: 'activate',
      outcome: 'ok',
      startedAt: record.activateStartedAt,
      durationMs,
      level,
    });
    env.logger.info(
      { plugin: record.name, version: definition.version, durationMs: round(durationMs) },
      `Plugin "${record.name}" activated`,
    );
    env.emit({ type: 'activated', plugin: record.name, version: definition.version, durationMs });
    env.runtime.auditAsHost({
      action: 'plugin.activated',
      actor: 'host',
      target: record.name,
      metadata: { version: definition.version },
    });
    if (env.shutDown()) {
      // The host stopped (past its bound) while this activation was still running: undo it now
      // so nothing it holds outlives the host.
      await deactivateOne(
        env,
        record,
        Date.now() + (definition.deactivateTimeout ?? env.deactivateTimeout),
      );
    }
    return;
  }

  const error =
    outcome.status === 'timeout'
      ? new PluginActivationError(
          `Plugin "${record.name}" did not finish activate() within ${timeoutMs} ms (activateTimeout); it was stopped and its dependents were not started.`,
          {
            details: { plugin: record.name, timeoutMs, timedOut: true },
            cause: new TimeoutError(`activate() of "${record.name}" exceeded ${timeoutMs} ms`, {
              details: { timeoutMs },
            }),
          },
        )
      : new PluginActivationError(
          `Plugin "${record.name}" failed to activate: ${messageOf(outcome.error)}`,
          {
            details: { plugin: record.name, timedOut: false },
            cause: outcome.error,
          },
        );
  record.state = 'failed';
  record.error = recordError(error);
  record.reason = error.message;
  env.timeline.record({
    subject: record.name,
    phase: 'activate',
    outcome: outcome.status === 'timeout' ? 'timeout' : 'failed',
    startedAt: record.activateStartedAt,
    durationMs,
    level,
    detail: error.message,
  });
  env.logger.error({ plugin: record.name, err: error }, error.message);
  env.reportError(record.name, 'plugin.activate', error);
  env.emit({ type: 'failed', plugin: record.name, error: record.error, durationMs });
  env.runtime.auditAsHost({
    action: 'plugin.failed',
    actor: 'host',
    target: record.name,
    metadata: { version: definition.version, reason: error.message },
  });
  await releaseScope(env, record, definition.deactivateTimeout ?? env.deactivateTimeout);
}

/**
 * Stop the active plugins in reverse activation order, level by level (in parallel within a
 * level): `deactivate` under its timeout, then release everything the plugin holds. Every wait
 * is also capped by `deadline` (epoch ms), the bound on the whole stop.
 */
export async function deactivateLevels(env: LifecycleEnv, deadline: number): Promise<void> {
  for (const level of [...env.graph.levels].reverse()) {
    await Promise.all(level.map((name) => deactivateOne(env, env.records.get(name)!, deadline)));
  }
}

/** Stop one active plugin and release everything it holds (no-op unless it is active). */
export async function deactivateOne(
  env: LifecycleEnv,
  record: PluginRecord,
  deadline: number,
): Promise<void> {
  if (record.state !== 'active' || record.scoped === undefined) return;
  const { definition } = record.loaded;
  const scoped = record.scoped;
  const pluginTimeout = definition.deactivateTimeout ?? env.deactivateTimeout;
  record.state = 'deactivating';
  record.deactivateStartedAt = Date.now();
  const started = performance.now();

  const timeoutMs = Math.min(pluginTimeout, remaining(deadline));
  const deactivate = definition.deactivate;
  const outcome =
    deactivate === undefined
      ? ({ status: 'ok' } as const)
      : await settleWithin(
          () => runAsPlugin(tagOf(env, record), deactivate, scoped.context),
          timeoutMs,
        );
  let detail: string | undefined;
  if (outcome.status !== 'ok') {
    const error =
      outcome.status === 'timeout'
        ? new PluginDeactivationError(
            `Plugin "${record.name}" did not finish deactivate() within ${timeoutMs} ms; its resources are released anyway.`,
            {
              details: { plugin: record.name, timeoutMs, timedOut: true },
              cause: new TimeoutError(`deactivate() of "${record.name}" exceeded ${timeoutMs} ms`, {
                details: { timeoutMs },
              }),
            },
          )
        : new PluginDeactivationError(
            `Plugin "${record.name}" failed to deactivate: ${messageOf(outcome.error)}`,
            {
              details: { plugin: record.name, timedOut: false },
              cause: outcome.error,
            },
          );
    record.error = recordError(error);
    record.reason = error.message;
    detail = error.message;
    env.logger.error({ plugin: record.name, err: error }, error.message);
    env.reportError(record.name, 'plugin.deactivate', error);
  }
  env.timeline.record({
    subject: record.name,
    phase: 'deactivate',
    outcome: outcome.status,
    startedAt: record.deactivateStartedAt,
    durationMs: performance.now() - started,
    level: record.level,
    ...(detail === undefined ? {} : { detail }),
  });

  await releaseScope(env, record, Math.min(pluginTimeout, remaining(deadline)));
  const durationMs = performance.now() - started;
  record.deactivationMs = durationMs;
  record.state = 'stopped';
  env.logger.info(
    { plugin: record.name, durationMs: round(durationMs) },
    `Plugin "${record.name}" stopped`,
  );
  env.runtime.auditAsHost({
    action: 'plugin.stopped',
    actor: 'host',
    target: record.name,
    metadata: { version: definition.version, ...(detail === undefined ? {} : { reason: detail }) },
  });
  env.emit({
    type: 'stopped',
    plugin: record.name,
    durationMs,
    error: record.error?.code === 'PB_PLUGIN_DEACTIVATION' ? record.error : undefined,
    unfinished: record.unfinished,
  });
}

/** Release a plugin's context within `timeoutMs`, recording what was still running. */
async function releaseScope(
  env: LifecycleEnv,
  record: PluginRecord,
  timeoutMs: number,
): Promise<void> {
  const scoped = record.scoped;
  if (scoped === undefined) return;
  const startedAt = Date.now();
  const started = performance.now();
  // The release itself is bounded by `timeoutMs`; the extra grace only guards against a
  // release that ignores its own bound.
  const outcome = await settleWithin(() => scoped.release(timeoutMs), timeoutMs + 1_000);
  const durationMs = performance.now() - started;
  if (outcome.status === 'ok') {
    record.unfinished = outcome.value.unfinished;
  } else {
    record.unfinished = ['release'];
    env.logger.error(
      { plugin: record.name, err: outcome.status === 'failed' ? outcome.error : undefined },
      `Releasing plugin "${record.name}" ${outcome.status === 'timeout' ? 'did not finish in time' : 'failed'}`,
    );
  }
  if (record.unfinished.length > 0) {
    env.logger.warn(
      { plugin: record.name, unfinished: record.unfinished },
      `Plugin "${record.name}" still had work running when released`,
    );
  }
  env.timeline.record({
    subject: record.name,
    phase: 'release',
    outcome:
      outcome.status === 'ok'
        ? record.unfinished.length === 0
          ? 'ok'
          : 'timeout'
        : outcome.status,
    startedAt,
    durationMs,
    level: record.level,
    ...(record.unfinished.length === 0
      ? {}
      : { detail: `unfinished: ${record.unfinished.join(', ')}` }),
  });
}

/** The plugin's attribution tag: the same one its context's callbacks carry (host = runtime). */
function tagOf(env: LifecycleEnv, record: PluginRecord): PluginTag {
  return { pluginId: record.name, host: env.runtime };
}

/** Milliseconds left before `deadline`, never negative. */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
