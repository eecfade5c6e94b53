import type { Logger } from 'pino';
import type { PortSubscription, RegistryStore } from '../backends/ports.js';
import { watchKind } from '../backends/watch-kind.js';
import type { Codec } from '../codec/codec.js';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import type { LocalProvider, ProviderAnnouncement, RemoteProvider } from './providers.js';
import type { ServiceInstanceInfo, ServiceStatus, ServiceStatusCallback } from './types.js';

/** The registry kind of provider entries. */
export const RPC_KIND = 'rpc';

export interface ProviderTableOptions {
  nodeId: string;
  codec: Codec;
  logger: Logger;
  /** A remote provider's entry vanished (unregistered, or its node left or died). */
  onRemoteGone: (id: string) => void;
}

/**
 * Every provider this node knows, by service: its own (`local`) and those announced by other
 * nodes in the registry (`remote`, kept current by a watch). Tells `subscribeService` callbacks
 * of each change.
 */
export class ProviderTable {
  readonly local = new Map<string, LocalProvider[]>();
  readonly remote = new Map<string, RemoteProvider[]>();
  private readonly remoteById = new Map<string, RemoteProvider>();
  private readonly watchers = new Map<string, Set<ServiceStatusCallback>>();

  constructor(private readonly options: ProviderTableOptions) {}

  /** Follow other nodes' provider entries. */
  watch(registry: RegistryStore): Promise<PortSubscription> {
    return watchKind(registry, RPC_KIND, (change) => {
      if (change.type === 'delete') this.removeRemote(change.id);
      else this.addRemote(change.record.id, change.record.nodeId, change.record.value);
    });
  }

  get localCount(): number {
    let n = 0;
    for (const list of this.local.values()) n += list.length;
    return n;
  }

  addLocal(provider: LocalProvider): void {
    const list = this.local.get(provider.service);
    if (list === undefined) this.local.set(provider.service, [provider]);
    else list.push(provider);
    this.notify(provider.service);
  }

  /** Forget a local provider; false if it was not there. */
  removeLocal(provider: LocalProvider): boolean {
    const list = this.local.get(provider.service);
    const index = list?.indexOf(provider) ?? -1;
    if (list === undefined || index < 0) return false;
    list.splice(index, 1);
    if (list.length === 0) this.local.delete(provider.service);
    this.notify(provider.service);
    return true;
  }

  subscribe(service: string, callback: ServiceStatusCallback): () => void {
    assertName(service, 'Service name');
    let set = this.watchers.get(service);
    if (set === undefined) this.watchers.set(service, (set = new Set()));
    set.add(callback);
    this.deliverStatus(callback, this.status(service));
    return () => {
      set.delete(callback);
      if (set.size === 0) this.watchers.delete(service);
    };
  }

  /** Does every provider of `service` that has `method` mark it idempotent (and is there one)? */
  idempotent(service: string, method: string): boolean {
    let seen = false;
    for (const p of this.local.get(service) ?? []) {
      if (!p.methods.has(method)) continue;
      if (!p.idempotent.has(method)) return false;
      seen = true;
    }
    for (const p of this.remote.get(service) ?? []) {
      if (!p.methods.includes(method)) continue;
      if (!p.idempotent.has(method)) return false;
      seen = true;
    }
    return seen;
  }

  /** Every service with a provider here or on another node, by name. */
  services(): ServiceStatus[] {
    const names = new Set([...this.local.keys(), ...this.remote.keys()]);
    return [...names].sort().map((name) => this.status(name));
  }

  status(service: string): ServiceStatus {
    const instances: ServiceInstanceInfo[] = [];
    for (const p of this.local.get(service) ?? []) {
      instances.push({
        nodeId: this.options.nodeId,
        pluginId: p.owner,
        registrationId: p.id,
        local: true,
        methods: [...p.methods.keys()],
      });
    }
    for (const p of this.remote.get(service) ?? []) {
      instances.push({
        nodeId: p.nodeId,
        pluginId: p.pluginId,
        registrationId: p.id,
        local: false,
        methods: p.methods,
      });
    }
    return { service, status: instances.length > 0 ? 'available' : 'unavailable', instances };
  }

  private notify(service: string): void {
    const set = this.watchers.get(service);
    if (set === undefined) return;
    const status = this.status(service);
    for (const callback of set) this.deliverStatus(callback, status);
  }

  private deliverStatus(callback: ServiceStatusCallback, status: ServiceStatus): void {
    try {
      callback(status);
    } catch (error) {
      this.options.logger.error(
        { err: error, service: status.service },
        'service status callback failed',
      );
    }
  }

  private addRemote(id: string, nodeId: string, value: Uint8Array): void {
    if (nodeId === this.options.nodeId) return;
    let announcement: ProviderAnnouncement;
    try {
      announcement = this.options.codec.decode(value) as ProviderAnnouncement;
      assertName(announcement.service, 'Service name');
      const strings = (list: unknown): boolean =>
        Array.isArray(list) && list.every((m) => typeof m === 'string');
      if (
        typeof announcement.pluginId !== 'string' ||
        !strings(announcement.methods) ||
        !strings(announcement.idempotent)
      ) {
        throw new ValidationError('RPC provider entry has the wrong shape.');
      }
    } catch (error) {
      this.options.logger.warn(
        { err: error, recordId: id },
        'ignored a malformed RPC provider entry',
      );
      return;
    }
    this.removeRemote(id, false);
    const provider: RemoteProvider = {
      local: false,
      id,
      nodeId,
      pluginId: announcement.pluginId,
      service: announcement.service,
      methods: announcement.methods,
      idempotent: new Set(announcement.idempotent),
    };
    this.remoteById.set(id, provider);
    const list = this.remote.get(provider.service);
    if (list === undefined) this.remote.set(provider.service, [provider]);
    else list.push(provider);
    this.notify(provider.service);
  }

  /** Forget a remote provider; `gone` tells calls in flight to it (not for a replacement). */
  private removeRemote(id: string, gone = true): void {
    const provider = this.remoteById.get(id);
    if (provider === undefined) return;
    this.remoteById.delete(id);
    const list = this.remote.get(provider.service)!;
    list.splice(list.indexOf(provider), 1);
    if (list.length === 0) this.remote.delete(provider.service);
    if (gone) this.options.onRemoteGone(id);
    this.notify(provider.service);
  }
}
