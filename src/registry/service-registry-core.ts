import semver from 'semver';
import type { Logger } from 'pino';
import type { Backend, RegistryRecord } from '../backends/ports.js';
import { watchKind } from '../backends/watch-kind.js';
import type { Codec } from '../codec/codec.js';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import type {
  DiscoverFilter,
  RegistryWatchEvent,
  ServiceDescriptor,
  ServiceInstance,
} from './types.js';

const kindOf = (type: string): string => `svc:${type}`;

export interface ServiceRegistryCoreOptions {
  backend: Backend;
  codec: Codec;
  logger: Logger;
}

/**
 * Service discovery over the registry port. Instances are registry entries owned by this node,
 * so they vanish when the plugin unregisters, when the host stops, and (in a cluster) when the
 * node dies and its liveness lapses.
 */
export class ServiceRegistryCore {
  private seq = 0;

  constructor(private readonly options: ServiceRegistryCoreOptions) {}

  /** Validate and announce; returns the instance id and the write's promise. */
  register(
    owner: string,
    type: string,
    descriptor: ServiceDescriptor,
  ): { id: string; ready: Promise<void> } {
    assertName(type, 'Service type');
    const instance = this.validate(owner, type, descriptor);
    const ready = this.options.backend.registry.put(
      kindOf(type),
      instance.id,
      this.options.codec.encode(instance, 'descriptor'),
    );
    return { id: instance.id, ready };
  }

  unregister(type: string, id: string): Promise<void> {
    return this.options.backend.registry.remove(kindOf(type), id);
  }

  async discover(type: string, filter: DiscoverFilter = {}): Promise<ServiceInstance[]> {
    assertName(type, 'Service type');
    if (filter.version !== undefined && semver.validRange(filter.version) === null) {
      throw new ValidationError(`"${filter.version}" is not a valid semver range.`, {
        details: { field: 'version' },
      });
    }
    const records = await this.options.backend.registry.list(kindOf(type));
    const instances = records
      .map((r) => this.decode(r))
      .filter((i): i is ServiceInstance => i !== undefined);
    return instances
      .filter((instance) => matches(instance, filter))
      .sort((a, b) => a.registeredAt - b.registeredAt || a.id.localeCompare(b.id));
  }

  /**
   * Report every instance added or removed. Instances that exist when the watch starts are
   * reported as `added` first, so a watcher never has to combine `discover` and `watch`.
   */
  watch(type: string, callback: (event: RegistryWatchEvent) => void): () => void {
    assertName(type, 'Service type');
    const known = new Map<string, ServiceInstance>();
    let stopped = false;
    const emit = (event: RegistryWatchEvent): void => {
      if (stopped) return;
      try {
        callback(event);
      } catch (error) {
        this.options.logger.error({ err: error, type }, 'service registry watcher failed');
      }
    };
    const watching = watchKind(this.options.backend.registry, kindOf(type), (change) => {
      if (change.type === 'put') {
        const instance = this.decode(change.record);
        if (instance === undefined || known.has(instance.id)) return;
        known.set(instance.id, instance);
        emit({ type: 'added', instance });
      } else {
        const instance = known.get(change.id);
        if (instance === undefined) return;
        known.delete(change.id);
        emit({ type: 'removed', instance });
      }
    });
    watching.catch((error: unknown) =>
      this.options.logger.error({ err: error, type }, 'could not watch the registry'),
    );
    return () => {
      stopped = true;
      watching.then((s) => s.close()).catch(() => undefined);
    };
  }

  private validate(owner: string, type: string, d: ServiceDescriptor): ServiceInstance {
    const fail = (field: string, what: string): never => {
      throw new ValidationError(`Service "${type}": field "${field}" ${what}.`, {
        details: { type, field },
      });
    };
    if (typeof d !== 'object' || d === null) fail('descriptor', 'must be an object');
    if (typeof d.name !== 'string' || d.name.length === 0)
      fail('name', 'must be a non-empty string');
    if (typeof d.version !== 'string' || semver.valid(d.version) === null)
      fail('version', 'must be a semver version like "1.0.0"');
    if (typeof d.endpoint !== 'string' || d.endpoint.length === 0)
      fail('endpoint', 'must be a non-empty string');
    if (
      d.metadata !== undefined &&
      (typeof d.metadata !== 'object' || d.metadata === null || Array.isArray(d.metadata))
    ) {
      fail('metadata', 'must be an object');
    }
    return {
      id: `${this.options.backend.nodeId}:i${++this.seq}`,
      type,
      name: d.name,
      version: d.version,
      endpoint: d.endpoint,
      metadata: d.metadata ?? {},
      nodeId: this.options.backend.nodeId,
      pluginId: owner,
      registeredAt: Date.now(),
    };
  }

  private decode(record: RegistryRecord): ServiceInstance | undefined {
    try {
      const instance = this.options.codec.decode(record.value) as ServiceInstance;
      const ok =
        typeof instance === 'object' &&
        instance !== null &&
        typeof instance.id === 'string' &&
        typeof instance.name === 'string' &&
        typeof instance.version === 'string' &&
        typeof instance.metadata === 'object' &&
        instance.metadata !== null;
      if (!ok) throw new ValidationError('Service instance entry has the wrong shape.');
      return instance;
    } catch (error) {
      this.options.logger.warn({ err: error, id: record.id }, 'ignored a malformed service entry');
      return undefined;
    }
  }
}

function matches(instance: ServiceInstance, filter: DiscoverFilter): boolean {
  if (filter.name !== undefined && instance.name !== filter.name) return false;
  if (filter.version !== undefined && !semver.satisfies(instance.version, filter.version))
    return false;
  if (filter.metadata !== undefined) {
    for (const [key, wanted] of Object.entries(filter.metadata)) {
      const actual = instance.metadata[key];
      if (Array.isArray(wanted)) {
        if (!Array.isArray(actual) || !wanted.every((item) => actual.includes(item))) return false;
      } else if (Array.isArray(actual)) {
        if (!actual.includes(wanted)) return false;
      } else if (actual !== wanted) return false;
    }
  }
  return true;
}
