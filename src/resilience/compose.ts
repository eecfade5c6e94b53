import { ValidationError } from '../errors/errors.js';
import type { Deadlines } from '../util/deadlines.js';
import type { BreakerRegistry } from './breaker-registry.js';
import { Bulkhead } from './bulkhead.js';
import { invoke, rootCall, type Step } from './call-context.js';
import { numberOption, objectOption } from './check.js';
import type { SharedBreaker } from './circuit-breaker.js';
import { FallbackPolicy } from './fallback.js';
import { retrySettings } from './retry-options.js';
import { RetryPolicy, type RetryDeps } from './retry.js';
import { TimeoutPolicy } from './timeout.js';
import type {
  CallContext,
  CircuitBreaker,
  Fallback,
  Guarded,
  Policy,
  PolicyOptions,
} from './types.js';

/** Where a composed policy runs: its calls' root signal and, for tests, its clocks. */
export interface PolicyEnv {
  /** Aborts every call of the policy (a plugin's stop): retries end, waits end, callees abort. */
  signal?: AbortSignal;
  deadlines?: Deadlines;
  retry?: RetryDeps;
}

/** A policy built from {@link PolicyOptions}; `run` also takes the call's own signal. */
export interface ComposedPolicy extends Policy {
  /** Run with `call.signal` as the call's signal (e.g. the caller's own cancellation). */
  run<T>(fn: Guarded<T>, call: CallContext): Promise<T>;
  /** The node's breaker this policy goes through, if any. */
  readonly breaker: CircuitBreaker | undefined;
}

const KEYS = new Set(['timeout', 'breaker', 'retry', 'bulkhead']);

/**
 * Throw a `ValidationError` (naming `where`, e.g. `resilience.services.billing`) unless
 * `options` are valid policy options. Builds nothing, touches no registry.
 */
export function validatePolicyOptions(options: unknown, where = 'policy options'): void {
  try {
    objectOption(options ?? null, where);
    const o = options as PolicyOptions;
    const unknown = Object.keys(o).filter((key) => !KEYS.has(key));
    if (unknown.length > 0) {
      throw new ValidationError(
        `Unknown option(s) ${unknown.join(', ')}: use timeout, breaker, retry, bulkhead.`,
        { details: { fields: unknown } },
      );
    }
    if (o.timeout !== undefined) numberOption(o.timeout, 'timeout', 0, 1, 2 ** 31 - 1);
    if (o.retry !== undefined) retrySettings(o.retry);
    if (o.bulkhead !== undefined) new Bulkhead(o.bulkhead);
    if (o.breaker !== undefined) breakerName(o.breaker);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(`${where}: ${error.message}`, {
      details: { ...error.details, where },
    });
  }
}

/**
 * A policy from `options`, layered in one fixed order, from the call outwards: timeout (each
 * attempt), breaker (so it sees timeouts), retry (each retry goes through the breaker, and an
 * open circuit is not retried), bulkhead (a call holds one slot across its retries), fallback
 * (any failure that got out). The breaker is the node's breaker of that name from `registry`.
 */
export function buildPolicy(
  options: PolicyOptions,
  registry: BreakerRegistry,
  fallback?: Fallback<unknown>,
  env: PolicyEnv = {},
): ComposedPolicy {
  validatePolicyOptions(options);
  const steps: Step[] = [];
  if (options.timeout !== undefined) steps.push(new TimeoutPolicy(options.timeout, env.deadlines));
  let breaker: SharedBreaker | undefined;
  if (options.breaker !== undefined) {
    const { name, ...breakerOptions } =
      typeof options.breaker === 'string' ? { name: options.breaker } : options.breaker;
    breaker = registry.getOrCreate(
      name,
      typeof options.breaker === 'string' ? undefined : breakerOptions,
    );
    steps.push(breaker);
  }
  if (options.retry !== undefined)
    steps.push(new RetryPolicy(retrySettings(options.retry), env.retry));
  if (options.bulkhead !== undefined) steps.push(new Bulkhead(options.bulkhead));
  if (fallback !== undefined) steps.push(new FallbackPolicy(fallback));
  const top = steps.reduce<Step | undefined>(
    (inner, outer) => (inner === undefined ? outer : new Layered(outer, inner)),
    undefined,
  );
  const root = rootCall(env.signal);
  return Object.freeze({
    breaker,
    run: <T>(fn: Guarded<T>, call: CallContext): Promise<T> =>
      top === undefined ? invoke(fn, call) : top.run(fn, call),
    execute: <T>(fn: Guarded<T>): Promise<T> =>
      top === undefined ? invoke(fn, root) : top.run(fn, root),
  });
}

/** `outer` around `inner`: each attempt `outer` makes runs `inner` with that attempt's context. */
class Layered implements Step {
  constructor(
    private readonly outer: Step,
    private readonly inner: Step,
  ) {}

  run<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
    const inner = this.inner;
    return this.outer.run((attempt) => inner.run(fn, attempt), call);
  }
}

function breakerName(breaker: PolicyOptions['breaker']): string {
  const name = typeof breaker === 'string' ? breaker : breaker?.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError('breaker must be a breaker name or options with a name.', {
      details: { field: 'breaker' },
    });
  }
  return name;
}
