/**
 * Shared pieces of the lock fault tests: lock client processes on a namespace of their own,
 * the fenced resources they write to, and cleanup of the shared Redis.
 */
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { fenceKey } from './fixtures/lock-api.js';
import type { LockNodeConfig } from './fixtures/lock-node.js';
import { LockProcess } from './lock-process.js';

export { figure, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';

/** Start `count` lock processes `<label>-0..n` on one namespace (in parallel: startup is slow). */
export function startLockProcesses(
  count: number,
  where: Omit<LockNodeConfig, 'nodeId'>,
  label: string,
): Promise<LockProcess[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      LockProcess.start({ ...where, nodeId: `${label}-${i}` }),
    ),
  );
}

/** Where a test's processes run: a fresh namespace, fences on the shared Redis. */
export function placeOn(redisUrl: string, label: string): Omit<LockNodeConfig, 'nodeId'> {
  return { redisUrl, fenceUrl: SHARED_REDIS_URL, namespace: uniqueNamespace(label) };
}

/** The highest token a fenced resource accepted, and how many writes it accepted. */
export async function fenceState(
  namespace: string,
  resource: string,
): Promise<{ top: number; accepted: number }> {
  const client = new Redis(SHARED_REDIS_URL);
  try {
    const key = fenceKey(namespace, resource);
    const [top, accepted] = await client.mget(key, `${key}:n`);
    return { top: Number(top ?? 0), accepted: Number(accepted ?? 0) };
  } finally {
    client.disconnect();
  }
}

/**
 * Delete every key of a namespace on a Redis that may be shared: the namespace is a random
 * name no other test uses, so every key that contains it is this test's (lock keys carry it in
 * their hash tag, `{<ns>:l:<resource>}:…`; fences as `<ns>:proof-fence:…`). Never FLUSHDB.
 */
export async function deleteKeysOf(url: string, namespace: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `*${namespace}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** Stop every process (bounded each), then delete the namespace's keys from the shared Redis. */
export async function cleanUp(processes: readonly LockProcess[], namespace: string): Promise<void> {
  await Promise.all(processes.map((node) => node.stop()));
  await deleteKeysOf(SHARED_REDIS_URL, namespace);
}

/** What {@link useLockPair} sets up for a `describe` block. */
export interface LockPair {
  readonly where: Omit<LockNodeConfig, 'nodeId'>;
  /** The block's throwaway redis-server (only with `ownServer`). */
  readonly server: RedisServer;
  readonly holder: LockProcess;
  readonly rival: LockProcess;
}

/**
 * For the `describe` block it is called in: two lock processes (`holder`, `rival`) on a fresh
 * namespace, on the shared Redis or (`ownServer`, for tests that freeze or restart it) on a
 * throwaway server; all stopped and cleaned up after the block.
 */
export function useLockPair(
  label: string,
  options: { ownServer?: boolean; operationTimeout?: number } = {},
): LockPair {
  let server: RedisServer | undefined;
  let where: LockPair['where'] | undefined;
  let nodes: LockProcess[] = [];
  before(async () => {
    if (options.ownServer === true) server = await startRedisServer();
    where = {
      ...placeOn(server?.url ?? SHARED_REDIS_URL, label),
      ...(options.operationTimeout === undefined
        ? {}
        : { operationTimeout: options.operationTimeout }),
    };
    nodes = await startLockProcesses(2, where, label);
  });
  after(async () => {
    server?.resume();
    if (where !== undefined) await cleanUp(nodes, where.namespace);
    await server?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useLockPair: used outside its tests');
    return value;
  };
  return {
    get where() {
      return ready(where);
    },
    get server() {
      return ready(server);
    },
    get holder() {
      return ready(nodes[0]);
    },
    get rival() {
      return ready(nodes[1]);
    },
  };
}
