/**
 * `createHost({ resilience })`: policies applied by configuration to the RPC calls a host's
 * plugins make to a service, and to its consumers of a queue. Validated when the host is created;
 * built once per host over the node's breakers.
 */
import { pino } from 'pino';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import { breakerSettings } from './breaker-options.js';
import { BreakerRegistry } from './breaker-registry.js';
import { Bulkhead } from './bulkhead.js';
import {
  buildPolicy,
  validatePolicyOptions,
  type ComposedPolicy,
  type PolicyEnv,
} from './compose.js';
import { retrySettings } from './retry-options.js';
import { mayRepeat } from '../rpc/repeat-safety.js';
import type {
  CircuitBreakerOptions,
  ConfiguredPolicyOptions,
  PolicyOptions,
  ResilienceOptions,
} from './types.js';

/** One configured policy: the composed policy and its per-attempt timeout. */
export interface ConfiguredPolicy {
  readonly policy: ComposedPolicy;
  /** The timeout policy's bound, ms (the RPC call's own deadline is bounded by it too). */
  readonly timeout: number | undefined;
}

/** The host's configured policies, by service name and by queue name. */
export interface ConfiguredPolicies {
  readonly services: ReadonlyMap<string, ConfiguredPolicy>;
  readonly queues: ReadonlyMap<string, ConfiguredPolicy>;
}

/** Each section, and the prefix of its default breaker name (`rpc:billing`, `queue:emails`). */
const SECTIONS = { services: 'rpc', queues: 'queue' } as const;
type Section = keyof typeof SECTIONS;

/**
 * Throw a `ValidationError` whose `details.field` is the option's path (e.g.
 * `resilience.services.billing.breaker.failureThreshold`) unless `options` is a valid
 * `resilience` host option: every policy is built once against a scratch registry, so what
 * would fail at `start()` (two entries sharing a breaker name with different options) fails here.
 */
export function assertResilienceOptions(options: unknown): void {
  if (options === undefined) return;
  configuredPolicies(
    options as ResilienceOptions,
    new BreakerRegistry({ logger: pino({ level: 'silent' }) }),
  );
}

/**
 * Build every configured policy over the node's breakers (validated as above); `env.deadlines`:
 * the runtime's scheduler, so pending timeouts end with the host.
 */
export function configuredPolicies(
  options: ResilienceOptions | undefined,
  registry: BreakerRegistry,
  env: PolicyEnv = {},
): ConfiguredPolicies {
  if (options === undefined) return { services: new Map(), queues: new Map() };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('resilience', 'must be an object { services?, queues? }.');
  }
  const unknown = Object.keys(options).filter((key) => !(key in SECTIONS));
  if (unknown.length > 0) {
    throw invalid(`resilience.${unknown[0]!}`, 'is not an option: use services or queues.');
  }
  return {
    services: section(options, 'services', registry, env),
    queues: section(options, 'queues', registry, env),
  };
}

function section(
  options: ResilienceOptions,
  name: Section,
  registry: BreakerRegistry,
  env: PolicyEnv,
): Map<string, ConfiguredPolicy> {
  const entries = options[name];
  const built = new Map<string, ConfiguredPolicy>();
  if (entries === undefined) return built;
  const where = `resilience.${name}`;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
    throw invalid(
      where,
      `must be an object of ${name === 'services' ? 'service' : 'queue'} name → policy options.`,
    );
  }
  for (const [key, value] of Object.entries(entries)) {
    const path = `${where}.${key}`;
    at(path, () => assertName(key, name === 'services' ? 'Service name' : 'Queue name'));
    const named = withBreakerName(value, `${SECTIONS[name]}:${key}`);
    checkParts(named, path);
    const resolved = name === 'services' ? repeatingSafely(named) : named;
    const policy = at(`${path}.breaker`, () => buildPolicy(resolved, registry, undefined, env));
    built.set(key, { policy, timeout: resolved.timeout });
  }
  return built;
}

/** `options` with its breaker named `fallbackName` when given as options without a name. */
function withBreakerName(options: ConfiguredPolicyOptions, fallbackName: string): PolicyOptions {
  const breaker = (options as { breaker?: unknown } | null)?.breaker;
  if (typeof breaker !== 'object' || breaker === null) return options as PolicyOptions;
  const { name, ...rest } = breaker as CircuitBreakerOptions & { name?: unknown };
  // A name given but not a string is left for the policy's own check to refuse.
  const named = {
    ...rest,
    name: name === undefined ? fallbackName : name,
  } as CircuitBreakerOptions & {
    name: string;
  };
  return { ...options, breaker: named };
}

/**
 * A service's retry repeats only calls that cannot run a method twice (see `mayRepeat`): the
 * same rule as the RPC caller's own failover, whatever `retryOn` allows.
 */
function repeatingSafely(options: PolicyOptions): PolicyOptions {
  if (options.retry === undefined) return options;
  const allowed = retrySettings(options.retry).retryOn;
  return { ...options, retry: { ...options.retry, retryOn: (e) => mayRepeat(e) && allowed(e) } };
}

/** Validate each part under its own path, then the whole (unknown keys, timeout). */
function checkParts(options: PolicyOptions, path: string): void {
  if (typeof options === 'object' && options !== null && !Array.isArray(options)) {
    if (options.retry !== undefined) at(`${path}.retry`, () => retrySettings(options.retry));
    if (options.bulkhead !== undefined)
      at(`${path}.bulkhead`, () => new Bulkhead(options.bulkhead!));
    const breaker = options.breaker;
    if (typeof breaker === 'object')
      at(`${path}.breaker`, () => breakerSettings(withoutName(breaker)));
  }
  at(path, () => validatePolicyOptions(options, path));
}

function withoutName(breaker: CircuitBreakerOptions & { name: string }): CircuitBreakerOptions {
  const { name: _name, ...rest } = breaker;
  return rest;
}

/** Run `check`; a `ValidationError` from it is rethrown naming the host option's full path. */
function at<T>(path: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    // `field`, or the first of `fields` (unknown keys).
    const fields = error.details['fields'];
    const inner: unknown =
      error.details['field'] ?? (Array.isArray(fields) ? (fields as unknown[])[0] : undefined);
    const field =
      typeof inner === 'string' && !path.endsWith(`.${inner}`) ? `${path}.${inner}` : path;
    const message = error.message.startsWith(`${path}: `)
      ? error.message.slice(path.length + 2)
      : error.message;
    throw invalid(field, message, error);
  }
}

function invalid(field: string, message: string, cause?: ValidationError): ValidationError {
  return new ValidationError(`Host option "${field}": ${message}`, {
    details: { ...cause?.details, field },
    ...(cause === undefined ? {} : { cause }),
  });
}
