import type { EventBusCore } from '../bus/event-bus-core.js';
import type { EventMeta } from '../bus/types.js';
import { ContextClosedError, TimeoutError, ValidationError } from '../errors/errors.js';
import type { RpcCore } from '../rpc/rpc-core.js';
import type { ServiceStatus } from '../rpc/types.js';
import type { Deadlines } from '../util/deadlines.js';
import type { PluginScope, Releasable } from './plugin-scope.js';

/** What the bounded waits need from the runtime. */
export interface WaitEnv {
  readonly deadlines: Deadlines;
  /** Default bound, ms (the host's `rpcTimeout`). */
  readonly defaultTimeout: number;
}

/** The bound of a wait, checked: a positive finite number of ms (default `env.defaultTimeout`). */
export function waitTimeout(env: WaitEnv, timeout: unknown, what: string): number {
  const ms = timeout ?? env.defaultTimeout;
  if (typeof ms !== 'number' || !(ms > 0) || !Number.isFinite(ms)) {
    const got = typeof ms === 'number' ? String(ms) : typeof ms;
    throw new ValidationError(
      `Timeout for waiting for ${what} must be a positive number of ms, got ${got}.`,
    );
  }
  return ms;
}

/**
 * The next event matching `pattern` (and `filter`) as `{ data, meta }`. The subscription lives
 * only while waiting: it ends on the match, on the timeout (`TimeoutError`), when `filter` throws
 * (its error) and when the plugin stops (`ContextClosedError`).
 */
export function waitForEvent(
  core: EventBusCore,
  scope: PluginScope,
  env: WaitEnv,
  pattern: string,
  timeout: unknown,
  filter: unknown,
): Promise<{ data: unknown; meta: EventMeta }> {
  const ms = waitTimeout(env, timeout, `"${pattern}"`);
  if (filter !== undefined && typeof filter !== 'function') {
    throw new ValidationError(`The filter for waiting for "${pattern}" must be a function.`, {
      details: { pattern },
    });
  }
  const accept = filter as ((data: unknown, meta: EventMeta) => boolean) | undefined;
  scope.assertOpen(`waiting for "${pattern}"`);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      deadline.cancel();
      record.end('unsubscribed');
      return true;
    };
    const record = core.subscribe(
      scope.pluginId,
      scope.tracker,
      pattern,
      (data: unknown, _next: unknown, meta: EventMeta) => {
        if (settled) return;
        let match = true;
        if (accept !== undefined) {
          try {
            match = Boolean(accept(data, meta));
          } catch (error) {
            if (settle()) reject(error instanceof Error ? error : new Error(String(error)));
            return;
          }
        }
        if (match && settle()) resolve({ data, meta });
      },
      undefined,
      false,
    );
    const held: Releasable = { kind: 'subscription', release: () => record.end('plugin-stopped') };
    scope.hold(held);
    void record.closed.then((reason) => {
      scope.drop(held);
      if (reason === 'plugin-stopped' && settle()) {
        reject(
          new ContextClosedError(
            `Plugin "${scope.pluginId}" stopped while waiting for "${pattern}".`,
            { details: { pluginId: scope.pluginId, pattern } },
          ),
        );
      }
    });
    const deadline = env.deadlines.add(ms, () => {
      if (!settle()) return;
      reject(
        new TimeoutError(
          `Plugin "${scope.pluginId}" waited ${ms} ms for an event matching "${pattern}"${accept === undefined ? '' : ' (and its filter)'}; none came.`,
          { details: { pluginId: scope.pluginId, pattern, timeout: ms } },
        ),
      );
    });
  });
}

/**
 * Resolves with the service's status once some provider of `service` is available (at once if
 * one is); rejects with `TimeoutError` past the bound, `ContextClosedError` if the plugin stops.
 */
export function waitForService(
  core: RpcCore,
  scope: PluginScope,
  env: WaitEnv,
  service: string,
  timeout: unknown,
): Promise<ServiceStatus> {
  const ms = waitTimeout(env, timeout, `service "${service}"`);
  scope.assertOpen(`waiting for service "${service}"`);
  return new Promise((resolve, reject) => {
    let settled = false;
    // Filled in once the watch and the bound exist (the watch may report "available" at once).
    const live: { stop?: () => void; deadline?: { cancel(): boolean } } = {};
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      live.deadline?.cancel();
      scope.drop(held);
      live.stop?.();
      return true;
    };
    const held: Releasable = {
      kind: 'subscription',
      release: () => {
        if (!settle()) return;
        reject(
          new ContextClosedError(
            `Plugin "${scope.pluginId}" stopped while waiting for service "${service}".`,
            { details: { pluginId: scope.pluginId, service } },
          ),
        );
      },
    };
    // The callback runs once at once (the current status), then on every change.
    const unsubscribe = core.subscribeService(service, (status) => {
      if (status.status === 'available' && settle()) resolve(status);
    });
    if (settled) {
      unsubscribe();
      return;
    }
    live.stop = unsubscribe;
    scope.hold(held);
    live.deadline = env.deadlines.add(ms, () => {
      if (!settle()) return;
      reject(
        new TimeoutError(
          `Plugin "${scope.pluginId}" waited ${ms} ms for service "${service}" to become available; no provider appeared.`,
          { details: { pluginId: scope.pluginId, service, timeout: ms } },
        ),
      );
    });
  });
}
