import { MemoryNetwork } from '../../../src/backends/memory/memory-network.js';
import type { PluginContext } from '../../../src/context/types.js';
import { createHost, definePlugin, type HostOptions } from '../../../src/host/index.js';
import type { Host } from '../../../src/host/index.js';
import { silentLogger } from '../../support/runtime.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
} from '../../backends/redis/support.js';

/** Hosts of one cluster (one MemoryNetwork, or one Redis namespace), each running plugin `app`. */
export interface PermissionCluster {
  /** Start another host of the cluster; resolves with its `app` plugin's context. */
  node(options?: Pick<HostOptions, 'permissionPolicy'>): Promise<PluginContext>;
  /** The Redis namespace (on Redis). */
  readonly namespace: string;
  /** Stop every host (and delete the Redis namespace). */
  close(): Promise<void>;
}

export function permissionCluster(redis: boolean): PermissionCluster {
  const network = new MemoryNetwork();
  const namespace = uniqueNamespace('perm');
  const hosts: Host[] = [];
  return {
    namespace,
    async node(options = {}) {
      let context: PluginContext | undefined;
      const host = await createHost({
        logger: silentLogger,
        ...options,
        backend: redis ? { redis: SHARED_REDIS_URL, namespace } : { memory: network },
        plugins: [
          definePlugin({ name: 'app', version: '1.0.0', activate: (c) => void (context = c) }),
        ],
      });
      hosts.push(host);
      await host.start();
      if (context === undefined) throw new Error('plugin app did not activate');
      return context;
    },
    async close() {
      await Promise.all(hosts.map((h) => h.stop()));
      if (redis) await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
}
