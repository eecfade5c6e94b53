import { Redis } from 'ioredis';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createKeys } from '../../src/backends/redis/keys.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host } from '../../src/host/types.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { silentLogger } from '../support/runtime.js';

/** Hosts of one cluster, one plugin `locker` each. */
export interface LockCluster {
  readonly hosts: Host[];
  readonly contexts: PluginContext[];
  /** How many wait in the line of `resource` (read from the backend's state). */
  lineLength(resource: string): Promise<number>;
  stop(): Promise<void>;
}

export const BACKENDS = [
  ['embedded backend', false],
  ['Redis', true],
] as const;

/** `count` hosts sharing a memory network, or a fresh namespace on the shared Redis. */
export async function lockCluster(redis: boolean, count = 2): Promise<LockCluster> {
  const network = new MemoryNetwork();
  const namespace = uniqueNamespace('lock');
  const hosts: Host[] = [];
  const contexts: PluginContext[] = [];
  for (let i = 0; i < count; i++) {
    const host = await createHost({
      logger: silentLogger,
      backend: redis ? { redis: SHARED_REDIS_URL, namespace } : { memory: network },
      plugins: [
        definePlugin({
          name: 'locker',
          version: '1.0.0',
          activate: (context) => void contexts.push(context),
        }),
      ],
    });
    await host.start();
    hosts.push(host);
  }
  const client = redis ? new Redis(SHARED_REDIS_URL) : undefined;
  const keys = createKeys(namespace);
  return {
    hosts,
    contexts,
    lineLength: async (resource) =>
      client !== undefined
        ? client.zcard(keys.lock(resource).line)
        : (network.lockState.entries.get(resource)?.line.size ?? 0),
    stop: async () => {
      await Promise.all(hosts.map((host) => host.stop()));
      client?.disconnect();
      if (redis) await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
}

/**
 * Await `promise` with the event loop kept alive: a lock's expiry and renewal timers are unref'd
 * (a held lock never keeps a process running), so a test awaiting them alone would end early.
 */
export async function alive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}
