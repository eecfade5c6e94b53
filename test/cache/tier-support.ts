import { Redis } from 'ioredis';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createRedisBackend } from '../../src/backends/redis/index.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, ScopedContext } from '../../src/context/types.js';
import { SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { silentLogger, startRuntime } from '../support/runtime.js';

/** Two nodes of one cluster, each with a plugin context. */
export interface TierNodes {
  readonly a: PluginContext;
  readonly b: PluginContext;
  /** A third plugin on node a (a second local tier user on the same node). */
  readonly a2: PluginContext;
  readonly nodeA: string;
  /** The namespace (Redis) or '' (memory). */
  readonly namespace: string;
  readonly scopes: readonly ScopedContext[];
  close(): Promise<void>;
}

export type TierBackend = 'memory' | 'redis';

let counter = 0;

/** Two nodes on the memory backend (one network) or on Redis (`url`, a fresh namespace). */
export async function startNodes(kind: TierBackend, url = SHARED_REDIS_URL): Promise<TierNodes> {
  const id = ++counter;
  if (kind === 'memory') {
    const network = new MemoryNetwork();
    const ra = await startRuntime({ network, nodeId: `ta-${id}` });
    const rb = await startRuntime({ network, nodeId: `tb-${id}` });
    return {
      a: ra.ctx('p'),
      a2: ra.ctx('p2'),
      b: rb.ctx('p'),
      nodeA: `ta-${id}`,
      namespace: '',
      scopes: [ra.scoped('p'), ra.scoped('p2'), rb.scoped('p')],
      close: async () => {
        await ra.close();
        await rb.close();
      },
    };
  }
  const namespace = uniqueNamespace('tier');
  const start = async (nodeId: string) => {
    const backend = await createRedisBackend(
      { redis: url, namespace, operationTimeout: 3000 },
      { nodeId, logger: silentLogger },
    );
    const runtime = createRuntime({ backend, logger: silentLogger });
    await runtime.start();
    const scoped = (name: string) =>
      runtime.createContext({ name, version: '1.0.0', permissions: undefined, options: {} });
    return { runtime, scoped };
  };
  const na = await start(`ta-${id}`);
  const nb = await start(`tb-${id}`);
  const scopes = [na.scoped('p'), na.scoped('p2'), nb.scoped('p')];
  return {
    a: scopes[0]!.context,
    a2: scopes[1]!.context,
    b: scopes[2]!.context,
    nodeA: `ta-${id}`,
    namespace,
    scopes,
    close: async () => {
      for (const s of scopes) await s.release(1000);
      await na.runtime.close();
      await nb.runtime.close();
      await deleteCacheKeys(url, namespace);
    },
  };
}

/** Delete a namespace's cache entries and load claims (they have no hash tag). */
export async function deleteCacheKeys(url: string, namespace: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } catch {
    // the server may be gone (fault tests stop it)
  } finally {
    client.disconnect();
  }
}

/**
 * Read `key` through `tiered` until its local tier holds it (a node's first read after its own
 * write goes to the shared tier: the write's invalidation spoils the read that loaded it).
 */
export async function fillLocal(
  tiered: { get(key: string): Promise<unknown>; local: { get(key: string): unknown } },
  key: string,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (tiered.local.get(key) !== undefined) return;
    await tiered.get(key);
  }
  throw new Error(`the local tier never kept ${key}`);
}
