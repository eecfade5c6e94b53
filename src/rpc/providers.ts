import { ValidationError } from '../errors/errors.js';
import type { WorkTracker } from '../util/work-tracker.js';

export type Method = (...args: unknown[]) => unknown;

/** A service implementation registered on this node. */
export interface LocalProvider {
  readonly local: true;
  /** Also its registry entry id, so other nodes know it by the same id. */
  readonly id: string;
  readonly owner: string;
  readonly service: string;
  readonly target: object;
  readonly methods: ReadonlyMap<string, Method>;
  readonly idempotent: ReadonlySet<string>;
  readonly tracker: WorkTracker;
}

/** A provider on another node, as announced in the registry. */
export interface RemoteProvider {
  readonly local: false;
  /** Its registry entry id. */
  readonly id: string;
  readonly nodeId: string;
  readonly pluginId: string;
  readonly service: string;
  readonly methods: readonly string[];
  readonly idempotent: ReadonlySet<string>;
}

/** Any provider a call may go to. */
export type Provider = LocalProvider | RemoteProvider;

/** What a provider announces about itself in the registry. */
export interface ProviderAnnouncement {
  service: string;
  pluginId: string;
  methods: string[];
  idempotent: string[];
}

/**
 * Collect the callable methods of an implementation object: its own function properties and
 * those of its class (not `Object.prototype`'s), so `toString` or `constructor` can never be
 * called remotely.
 */
export function collectMethods(service: string, implementation: unknown): Map<string, Method> {
  if (typeof implementation !== 'object' || implementation === null) {
    throw new ValidationError(`The implementation of "${service}" must be an object of methods.`, {
      details: { service },
    });
  }
  const methods = new Map<string, Method>();
  for (
    let o: object | null = implementation;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor' || methods.has(key)) continue;
      const value = (implementation as Record<string, unknown>)[key];
      if (typeof value === 'function') methods.set(key, value as Method);
    }
  }
  if (methods.size === 0) {
    throw new ValidationError(`The implementation of "${service}" has no methods.`, {
      details: { service },
    });
  }
  return methods;
}

/** Whether `provider` offers `method`. */
export function hasMethod(provider: Provider, method: string): boolean {
  return provider.local ? provider.methods.has(method) : provider.methods.includes(method);
}
