import type { Registration } from '../rpc/types.js';

/** What a plugin announces about a service it offers. */
export interface ServiceDescriptor {
  name: string;
  version: string;
  endpoint: string;
  metadata?: Record<string, unknown>;
}

/** A discovered service instance. */
export interface ServiceInstance extends Required<ServiceDescriptor> {
  readonly id: string;
  readonly type: string;
  readonly nodeId: string;
  readonly pluginId: string;
  readonly registeredAt: number;
}

export interface DiscoverFilter {
  /** A semver range the instance's version must satisfy, e.g. `^1.2.0`. */
  version?: string;
  /** Metadata that must match: equal values, or for arrays, every listed item present. */
  metadata?: Record<string, unknown>;
  /** Exact instance name. */
  name?: string;
}

export type RegistryWatchEvent =
  { type: 'added'; instance: ServiceInstance } | { type: 'removed'; instance: ServiceInstance };

export interface RegistryWatch {
  unsubscribe(): void;
}

export interface ServiceRegistry {
  /** Announce an instance of service type `type`; it disappears when the plugin or node stops. */
  register(type: string, descriptor: ServiceDescriptor): Registration;
  /** Live instances of `type` across the cluster, filtered. */
  discover(type: string, filter?: DiscoverFilter): Promise<ServiceInstance[]>;
  /** Be told of every instance added or removed. */
  watch(type: string, callback: (event: RegistryWatchEvent) => void): RegistryWatch;
}
