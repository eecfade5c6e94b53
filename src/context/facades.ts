import type { EventBusCore } from '../bus/event-bus-core.js';
import type { PluginChainCore } from '../bus/plugin-chain-core.js';
import type { SubscriptionRecord } from '../bus/subscription-record.js';
import type {
  EventBus,
  EventHandler,
  EventMeta,
  PluginChain,
  SubscribeOptions,
  Subscription,
  WaitForOptions,
} from '../bus/types.js';
import { ContextClosedError, ValidationError } from '../errors/errors.js';
import type { ServiceRegistryCore } from '../registry/service-registry-core.js';
import type { ServiceRegistry } from '../registry/types.js';
import { currentTraceId } from '../bus/current-trace.js';
import type { RpcCore } from '../rpc/rpc-core.js';
import type { CallOptions, Registration, RpcClient, RpcServer } from '../rpc/types.js';
import { collectMethods } from '../rpc/providers.js';
import { markRepeatable, whenAborted } from '../rpc/repeat-safety.js';
import { rootCall } from '../resilience/call-context.js';
import type { ConfiguredPolicy } from '../resilience/configured-policies.js';
import { attributionActive, runAsPlugin, type PluginTag } from '../util/plugin-attribution.js';
import { isThenable } from '../util/thenable.js';
import { RESOURCE_SERVICE_PREFIX } from '../tx/participants.js';
import type { CapabilityGuard, TargetCheck } from '../security/capabilities/guard.js';
import type { BackgroundTasks, PluginTimers } from './types.js';
import type { PluginScope, Releasable } from './plugin-scope.js';
import { waitForEvent, waitForService, type WaitEnv } from './waits.js';

// The facades are what a plugin sees: thin objects that put the plugin's name on everything and
// record what it holds in its scope. All real work happens in the shared cores. Every method that
// returns a promise reports every failure through it (see `attempt`); methods that return a
// handle (subscribe, register, watch, timers) throw, as they have nothing else to report with.
// Every operation asks the plugin's capability guard first (`scope.guard`, undefined for a
// trusted plugin: the hot paths test that once and pay nothing else), before any side effect.

export function createEventBus(core: EventBusCore, scope: PluginScope, waits: WaitEnv): EventBus {
  const id = scope.pluginId;
  const subscribe = (
    pattern: string,
    handler: EventHandler,
    options: SubscribeOptions | undefined,
    once: boolean,
  ): Subscription => {
    scope.assertOpen(`subscribing to "${pattern}"`);
    const guard = scope.guard;
    guard?.assert('events', 'subscribe', pattern);
    // Not a function: left to the core, which rejects it with its own message.
    const narrowed = guard !== undefined && typeof handler === 'function' && hasWildcard(pattern);
    // Narrowed, a once() ends at the first event it may see (not at one it skips).
    const own = narrowed
      ? withinCapability(guard, handler, once ? () => record.end('once') : undefined)
      : handler;
    const record: SubscriptionRecord = core.subscribe(
      id,
      scope.tracker,
      pattern,
      attributionActive() && typeof own === 'function' ? attributedHandler(scope.tag, own) : own,
      options,
      once && !narrowed,
    );
    const held: Releasable = {
      kind: 'subscription',
      release: () => {
        record.end('plugin-stopped');
        return record.drained;
      },
    };
    scope.hold(held);
    void record.closed.then(() => scope.drop(held));
    return record;
  };
  // Trusted (no guard): no check at all; else the publish check of this plugin, made once.
  const mayPublish = scope.guard?.checker('events', 'publish');
  const publishChecked = (check: TargetCheck, event: string, data: unknown): Promise<void> => {
    try {
      check(event);
    } catch (error) {
      return Promise.reject(error);
    }
    return core.publish(id, event, data);
  };
  return {
    // The hot path: no wrapper, since `core.publish` itself never throws (it rejects).
    publish: (event, data) =>
      scope.closed
        ? Promise.reject(closed(scope, `publishing "${String(event)}"`))
        : mayPublish === undefined
          ? core.publish(id, event, data)
          : publishChecked(mayPublish, event, data),
    subscribe: (event, handler, options) =>
      subscribe(event, handler as EventHandler, options, false),
    once: (event, handler, options) => subscribe(event, handler as EventHandler, options, true),
    waitFor: ((event: string, options?: WaitForOptions) =>
      attempt(() => {
        if (scope.closed) throw closed(scope, `waiting for "${String(event)}"`);
        const guard = scope.guard;
        guard?.assert('events', 'subscribe', event);
        const filter = options?.filter;
        // Not a function: left to waitForEvent, which refuses it with its own message.
        const within =
          guard === undefined ||
          !hasWildcard(event) ||
          !(filter === undefined || typeof filter === 'function')
            ? filter
            : (data: unknown, meta: EventMeta) =>
                allowedName(guard, meta.event) && (filter === undefined || filter(data, meta));
        return waitForEvent(core, scope, waits, event, options?.timeout, within);
      })) as EventBus['waitFor'],
    unsubscribe(subscription) {
      if (
        typeof (subscription as Partial<SubscriptionRecord> | undefined)?.unsubscribe !== 'function'
      ) {
        throw new ValidationError(
          'unsubscribe() needs the Subscription that subscribe() returned.',
        );
      }
      subscription.unsubscribe();
    },
  };
}

export function createPluginChain(core: PluginChainCore, scope: PluginScope): PluginChain {
  return {
    execute: (event, data) =>
      attempt(() => {
        if (scope.closed) throw closed(scope, `executing the chain "${String(event)}"`);
        // The chain runs the handlers subscribed to the event: publishing it, in effect.
        scope.guard?.assert('events', 'publish', event);
        return core.execute(scope.pluginId, event, data);
      }),
  };
}

/** `checked`: false for the host's own uses (transaction resources, checked as `tx:register`). */
export function createRpcServer(core: RpcCore, scope: PluginScope, checked = true): RpcServer {
  const guard = checked ? scope.guard : undefined;
  return {
    register(service, methods, options) {
      scope.assertOpen(`registering "${service}"`);
      if (guard !== undefined) {
        // A transaction resource's service takes its phase calls: only `tx:register` offers it.
        const resource = resourceOf(service);
        if (resource === undefined) guard.assert('rpc', 'register', service);
        else guard.assert('tx', 'register', resource);
      }
      const { provider, ready } = core.register(
        scope.pluginId,
        scope.tracker,
        service,
        attributionActive() ? attributedMethods(scope.tag, service, methods) : methods,
        options?.idempotent,
      );
      let done: Promise<void> | undefined;
      const held: Releasable = { kind: 'registration', release: () => unregister() };
      const unregister = (): Promise<void> => {
        scope.drop(held);
        return (done ??= attempt(() => core.unregister(provider)));
      };
      scope.hold(held);
      ready.catch((error: unknown) =>
        scope.logger.error({ err: error, service }, 'could not announce the service'),
      );
      const registration: Registration = { id: provider.id, name: service, ready, unregister };
      return registration;
    },
  };
}

/**
 * `policies`: the host's configured policies by service (`resilience.services`); a call to one of
 * those services runs through its policy, each attempt's deadline bounded by the policy's
 * timeout, and its retries end when the plugin stops.
 */
export function createRpcClient(
  core: RpcCore,
  scope: PluginScope,
  waits: WaitEnv,
  policies?: ReadonlyMap<string, ConfiguredPolicy>,
): RpcClient {
  const id = scope.pluginId;
  const root = policies === undefined ? undefined : rootCall(scope.controller.signal);
  // Trusted (no guard): no check at all; else the call check of this plugin, made once.
  const mayCall = scope.guard?.checker('rpc', 'call');
  const guarded = (
    configured: ConfiguredPolicy,
    service: string,
    method: string,
    params: unknown,
    timeout: number | undefined,
    preferLocal: boolean | undefined,
    traceId: string | undefined,
  ): Promise<unknown> => {
    const bound = configured.timeout;
    // A malformed timeout is left as is for the core to refuse with its own message.
    const deadline =
      bound === undefined || (timeout !== undefined && typeof timeout !== 'number')
        ? timeout
        : Math.min(timeout ?? waits.defaultTimeout, bound);
    // A retry may repeat an idempotent method; other failures are judged by `mayRepeat`.
    return configured.policy.run((attempt) => {
      const idempotent = core.idempotent(service, method);
      // The policy's own timeout rejects with the error it aborts the attempt with.
      if (idempotent && bound !== undefined) whenAborted(attempt.signal, markRepeatable);
      return core
        .call(id, service, method, params, deadline, preferLocal, traceId)
        .catch((error) => {
          if (idempotent) markRepeatable(error);
          throw error;
        });
    }, root!);
  };
  const call = (
    service: string,
    method: string,
    params: unknown,
    timeout: number | undefined,
    preferLocal?: boolean,
    traceId?: string,
  ): Promise<unknown> => {
    if (scope.closed)
      return Promise.reject(closed(scope, `calling ${String(service)}.${String(method)}`));
    if (mayCall !== undefined) {
      try {
        // A transaction resource's phases are driven by enlisting it (`tx:enlist`), not by RPC.
        const resource = resourceOf(service);
        if (resource === undefined) mayCall(service, method);
        else scope.guard!.assert('tx', 'enlist', resource);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const configured = policies?.get(service);
    // The hot path: no wrapper, since `core.call` itself never throws (it rejects).
    return configured === undefined
      ? core.call(id, service, method, params, timeout, preferLocal, traceId)
      : // Attempts may run after awaits: the trace is taken now.
        guarded(
          configured,
          service,
          method,
          params,
          timeout,
          preferLocal,
          traceId ?? currentTraceId(),
        );
  };
  const client: RpcClient = {
    call: ((service: string, method: string, params?: unknown, options?: CallOptions) =>
      call(
        service,
        method,
        params,
        options?.timeout,
        options?.preferLocal,
        options?.traceId,
      )) as RpcClient['call'],
    callWithTimeout: ((service: string, method: string, params: unknown, timeout: number) =>
      call(service, method, params, timeout)) as RpcClient['callWithTimeout'],
    waitForService: (service, options) =>
      attempt(() => {
        if (scope.closed) throw closed(scope, `waiting for service "${String(service)}"`);
        scope.guard?.assert('rpc', 'call', service);
        return waitForService(core, scope, waits, service, options?.timeout);
      }),
    subscribeService(service, callback) {
      scope.assertOpen(`watching "${service}"`);
      scope.guard?.assert('rpc', 'call', service);
      return holdWatch(scope, core.subscribeService(service, callback));
    },
    proxy: ((service: string, options?: CallOptions) =>
      new Proxy(
        {},
        {
          // `then` must stay undefined, or `await proxy` would treat the proxy as a promise.
          get: (_target, method) =>
            typeof method !== 'string' || method === 'then'
              ? undefined
              : (...args: unknown[]) =>
                  call(
                    service,
                    method,
                    args,
                    options?.timeout,
                    options?.preferLocal,
                    options?.traceId,
                  ),
        },
      )) as RpcClient['proxy'],
  };
  return client;
}

export function createServiceRegistry(
  core: ServiceRegistryCore,
  scope: PluginScope,
): ServiceRegistry {
  return {
    register(type, descriptor) {
      scope.assertOpen(`registering a "${type}" instance`);
      scope.guard?.assert('registry', 'register', type);
      const { id, ready } = core.register(scope.pluginId, type, descriptor);
      let done: Promise<void> | undefined;
      const held: Releasable = { kind: 'registryEntry', release: () => unregister() };
      const unregister = (): Promise<void> => {
        scope.drop(held);
        return (done ??= ready.catch(() => undefined).then(() => core.unregister(type, id)));
      };
      scope.hold(held);
      ready.catch((error: unknown) =>
        scope.logger.error({ err: error, type }, 'could not register the service instance'),
      );
      return { id, name: descriptor.name, ready, unregister };
    },
    discover: (type, filter) =>
      attempt(() => {
        if (scope.closed) throw closed(scope, `discovering "${String(type)}"`);
        scope.guard?.assert('registry', 'discover', type);
        return core.discover(type, filter);
      }),
    watch(type, callback) {
      scope.assertOpen(`watching "${type}"`);
      scope.guard?.assert('registry', 'discover', type);
      return holdWatch(scope, core.watch(type, callback));
    },
  };
}

/**
 * Timers owned by a plugin, cleared when it stops. A callback that throws, or returns a promise
 * that rejects, is reported through `report` (as `plugin.error`), never left unhandled.
 */
export function createTimers(scope: PluginScope, report: (error: unknown) => void): PluginTimers {
  const start = (fn: () => unknown, ms: number, repeat: boolean): { cancel(): void } => {
    scope.assertOpen('setting a timer');
    const clear = repeat ? clearInterval : clearTimeout;
    const held: Releasable = { kind: 'timer', release: () => clear(handle) };
    const handle = (repeat ? setInterval : setTimeout)(() => {
      if (!repeat) scope.drop(held);
      runTimer(scope, fn, report);
    }, ms);
    scope.hold(held);
    return {
      cancel: () => {
        scope.drop(held);
        clear(handle);
      },
    };
  };
  return {
    setTimeout: (fn, ms) => start(fn, ms, false),
    setInterval: (fn, ms) => start(fn, ms, true),
  };
}

function runTimer(scope: PluginScope, fn: () => unknown, report: (error: unknown) => void): void {
  let result: unknown;
  try {
    result = runAsPlugin(scope.tag, fn);
  } catch (error) {
    report(error);
    return;
  }
  if (isThenable(result)) result.then(undefined, report);
}

export function createBackgroundTasks(
  scope: PluginScope,
  report: (name: string, error: unknown) => void,
): BackgroundTasks {
  return {
    run(name, task) {
      scope.assertOpen(`starting background task "${name}"`);
      if (typeof task !== 'function')
        throw new ValidationError(`Background task "${name}" must be a function.`);
      const done = scope.startBackground(name);
      // Started on the next turn so the caller can answer first (the "202 Accepted" pattern).
      setImmediate(() => {
        // The plugin stopped before the task's turn came: it never starts.
        if (scope.controller.signal.aborted) return done();
        Promise.resolve()
          .then(() => runAsPlugin(scope.tag, task, scope.controller.signal))
          .catch((error: unknown) => report(name, error))
          .finally(done);
      });
    },
    get pending() {
      return scope.background.inFlight;
    },
  };
}

/**
 * Run `fn` and hand back its promise; a synchronous throw (bad arguments, a stopped plugin)
 * becomes a rejected promise, so promise-returning methods never throw.
 */
function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The resource name of a transaction resource's service (`$tx.<name>`), else undefined. */
function resourceOf(service: unknown): string | undefined {
  return typeof service === 'string' &&
    service.charCodeAt(0) === 36 && // '$'
    service.startsWith(RESOURCE_SERVICE_PREFIX)
    ? service.slice(RESOURCE_SERVICE_PREFIX.length)
    : undefined;
}

/** True when a subscription pattern has a `*` or `**` segment. */
function hasWildcard(pattern: unknown): boolean {
  return typeof pattern === 'string' && pattern.split('.').some((s) => s === '*' || s === '**');
}

/**
 * True when the plugin's capabilities cover the concrete event `name`. The subscription's pattern
 * was checked already; that covers every name without a `:`, since the bus and the capabilities
 * then cut names into the same segments. A `:` inside a dotted segment is one segment to the bus
 * (`user.*` matches `user.admin:reset`) but a separator to the capabilities (user, admin, reset):
 * such a name is checked on its own.
 */
function allowedName(guard: CapabilityGuard, name: string): boolean {
  return !name.includes(':') || guard.allows('events', 'subscribe', name);
}

/**
 * `handler` skipping (passing on, in a chain) the events its plugin may not receive; `first`
 * runs before the first event it receives (ending a once() subscription), which is its last.
 */
function withinCapability(
  guard: CapabilityGuard,
  handler: EventHandler,
  first: (() => void) | undefined,
): EventHandler {
  let done = false;
  return (data, next, meta) => {
    if (done || !allowedName(guard, meta.event)) return next();
    if (first !== undefined) {
      done = true;
      first();
    }
    return handler(data, next, meta);
  };
}

/**
 * `handler` run as its plugin's code. The wrapper's arity keeps what the bus reads from it:
 * 3 parameters when the handler sees `meta` (it declares it, or uses `arguments`), else 2.
 */
function attributedHandler(tag: PluginTag, handler: EventHandler): EventHandler {
  if (handler.length === 0 || handler.length >= 3)
    return (data, next, meta) => runAsPlugin(tag, handler, data, next, meta);
  return (data, next, ...rest) => runAsPlugin(tag, handler, data, next, rest[0]);
}

/** An object with the implementation's RPC methods, each run as its plugin's code. */
function attributedMethods(tag: PluginTag, service: string, implementation: unknown): unknown {
  // Not an object: the core rejects it with its own message.
  if (typeof implementation !== 'object' || implementation === null) return implementation;
  const wrapped: Record<string, (...args: unknown[]) => unknown> = {};
  for (const [name, method] of collectMethods(service, implementation)) {
    wrapped[name] = (...args: unknown[]) =>
      runAsPlugin(tag, () => method.apply(implementation, args));
  }
  return wrapped;
}

/** Record a watch in the plugin's scope; its handle's `unsubscribe` lets it go early. */
function holdWatch(scope: PluginScope, stop: () => void): { unsubscribe(): void } {
  const held: Releasable = { kind: 'subscription', release: stop };
  scope.hold(held);
  return {
    unsubscribe: () => {
      scope.drop(held);
      stop();
    },
  };
}

function closed(scope: PluginScope, operation: string): ContextClosedError {
  return new ContextClosedError(
    `Plugin "${scope.pluginId}" has stopped; ${operation} is no longer possible.`,
    {
      details: { pluginId: scope.pluginId, operation },
    },
  );
}
