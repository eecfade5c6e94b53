import type { Logger } from 'pino';
import type { PluginScope, Releasable } from '../context/plugin-scope.js';
import type { Deadlines } from '../util/deadlines.js';
import { ValidationError } from '../errors/errors.js';
import type { BreakerRegistry } from './breaker-registry.js';
import { Bulkhead } from './bulkhead.js';
import { rootCall, type Step } from './call-context.js';
import type { SharedBreaker } from './circuit-breaker.js';
import { buildPolicy, type PolicyEnv } from './compose.js';
import { FallbackPolicy } from './fallback.js';
import { retrySettings } from './retry-options.js';
import { RetryPolicy } from './retry.js';
import { TimeoutPolicy } from './timeout.js';
import { numberOption } from './check.js';
import type {
  BulkheadPolicy,
  CallContext,
  CircuitBreaker,
  CircuitBreakerFactory,
  CircuitState,
  CircuitStateChange,
  Fallback,
  Guarded,
  Policy,
} from './types.js';

/** What the resilience block needs from the runtime (one per host). */
export interface ResilienceEnv {
  readonly logger: Logger;
  readonly nodeId: string;
  /** The node's breakers: one per name, shared by every plugin of the node. */
  readonly breakers: BreakerRegistry;
  /** The runtime's deadline scheduler (timeouts end with the runtime); default: the process's. */
  readonly deadlines?: Deadlines;
  /** Told which plugin creates which breaker (health: a plugin with an open breaker is degraded). */
  readonly metrics?: {
    breakerUsedBy(name: string, pluginId: string): void;
    /** The plugin instance stopped: it no longer uses the breaker (until it creates it again). */
    breakerReleasedBy(name: string, pluginId: string): void;
  };
}

/**
 * A plugin's `context.circuitBreakerFactory`: the node's breakers seen through the plugin (its
 * listeners are released when it stops, and a listener that throws is reported as the
 * plugin's error), and policies whose calls end when the plugin stops.
 */
export function createCircuitBreakerFactory(
  env: ResilienceEnv,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): CircuitBreakerFactory {
  const root = rootCall(scope.controller.signal);
  const views = new Map<SharedBreaker, PluginBreaker>();
  const view = (shared: SharedBreaker): PluginBreaker => {
    let found = views.get(shared);
    if (found === undefined)
      views.set(shared, (found = new PluginBreaker(shared, scope, report, root)));
    return found;
  };
  // Breakers this plugin instance created: forgotten by health when it stops (or is reloaded).
  const used = new Set<string>();
  const metrics = env.metrics;
  if (metrics !== undefined)
    scope.controller.signal.addEventListener(
      'abort',
      () => {
        for (const name of used) metrics.breakerReleasedBy(name, scope.pluginId);
        used.clear();
      },
      { once: true },
    );
  const policyEnv: PolicyEnv = {
    signal: scope.controller.signal,
    ...(env.deadlines === undefined ? {} : { deadlines: env.deadlines }),
  };
  return Object.freeze({
    create: (name: string, options?: Parameters<CircuitBreakerFactory['create']>[1]) => {
      scope.assertOpen(`circuitBreakerFactory.create("${String(name)}")`);
      scope.guard?.assert('breaker', 'use', name);
      const breaker = view(env.breakers.getOrCreate(name, options));
      if (metrics !== undefined) {
        metrics.breakerUsedBy(name, scope.pluginId);
        used.add(name);
      }
      return breaker;
    },
    get: (name: string) => {
      scope.guard?.assert('breaker', 'use', name);
      const shared = env.breakers.get(name);
      return shared === undefined ? undefined : view(shared);
    },
    // A plugin with a list sees the breakers it may use.
    list: () => {
      const { guard } = scope;
      const all = env.breakers.list();
      return (
        guard === undefined ? all : all.filter((b) => guard.allows('breaker', 'use', b.name))
      ).map(view);
    },
    retry: (options?: Parameters<CircuitBreakerFactory['retry']>[0]) =>
      asPolicy(new RetryPolicy(retrySettings(options)), root),
    timeout: (ms: number) =>
      asPolicy(
        new TimeoutPolicy(numberOption(ms ?? null, 'timeout', 0, 1, 2 ** 31 - 1), env.deadlines),
        root,
      ),
    bulkhead: (options: Parameters<CircuitBreakerFactory['bulkhead']>[0]) =>
      bulkheadPolicy(new Bulkhead(options), root),
    fallback: <T>(fallback: Fallback<T>) => {
      if (typeof fallback !== 'function') {
        throw new ValidationError('fallback must be a function.', {
          details: { field: 'fallback' },
        });
      }
      return asPolicy(new FallbackPolicy(fallback), root);
    },
    policy: (
      options: Parameters<CircuitBreakerFactory['policy']>[0],
      fallback?: Fallback<unknown>,
    ) => {
      const breaker = (options as { breaker?: unknown } | undefined)?.breaker;
      const name =
        typeof breaker === 'string' ? breaker : (breaker as { name?: unknown } | undefined)?.name;
      // A malformed breaker option is left to buildPolicy, which refuses it with its own message.
      if (typeof name === 'string') scope.guard?.assert('breaker', 'use', name);
      return buildPolicy(options, env.breakers, fallback, policyEnv);
    },
  });
}

function asPolicy(step: Step, root: CallContext): Policy {
  return Object.freeze({ execute: <T>(fn: Guarded<T>) => step.run(fn, root) });
}

function bulkheadPolicy(bulkhead: Bulkhead, root: CallContext): BulkheadPolicy {
  return Object.freeze({
    execute: <T>(fn: Guarded<T>) => bulkhead.run(fn, root),
    get running() {
      return bulkhead.running;
    },
    get queued() {
      return bulkhead.queued;
    },
  });
}

/** The node's breaker as one plugin sees it. */
class PluginBreaker implements CircuitBreaker {
  constructor(
    private readonly shared: SharedBreaker,
    private readonly scope: PluginScope,
    private readonly report: (what: string, error: unknown) => void,
    private readonly root: CallContext,
  ) {}

  get name(): string {
    return this.shared.name;
  }

  get state(): CircuitState {
    return this.shared.state;
  }

  get stats() {
    return this.shared.stats;
  }

  execute<T>(fn: Guarded<T>, fallback?: Fallback<T>): Promise<T> {
    if (fallback === undefined) return this.shared.run(fn, this.root);
    return this.shared.execute(fn, fallback, this.root);
  }

  on(
    event: 'stateChange' | CircuitState,
    listener: (change: CircuitStateChange) => void,
  ): () => void {
    this.scope.assertOpen(`circuit breaker "${this.name}".on("${String(event)}")`);
    const report = this.report;
    const off = this.shared.on(event, (change) => {
      try {
        listener(change);
      } catch (error) {
        report(`${this.name}.${event}`, error);
      }
    });
    const held: Releasable = { kind: 'breakerListener', release: off };
    this.scope.hold(held);
    return () => {
      this.scope.drop(held);
      off();
    };
  }

  reset(): void {
    this.shared.reset();
  }
}
