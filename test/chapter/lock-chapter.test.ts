/**
 * The chapter's distributed-lock example, as written there, through a real host and
 * `context.lock`, on the embedded backend and on Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { BACKENDS, lockCluster, type LockCluster } from '../lock/lock-support.js';

for (const [label, redis] of BACKENDS) {
  describe(`the chapter's lock example (${label})`, () => {
    let cluster: LockCluster;
    let contexts: PluginContext[];
    before(async () => ({ contexts } = cluster = await lockCluster(redis, 2)));
    after(() => cluster.stop());

    it('2. distributed lock: acquire, critical section, release in finally', async () => {
      // A read-modify-write that loses updates unless the lock serializes it.
      let stored = 0;
      const updateResource = async (): Promise<void> => {
        const read = stored;
        await new Promise((resolve) => setTimeout(resolve, 2));
        stored = read + 1;
      };
      const run = async (context: PluginContext): Promise<void> => {
        // 获取锁
        const lock = await context.lock.acquire('resource:lock', { ttl: 30000 });

        try {
          // 执行临界区操作
          await updateResource();
        } finally {
          // 释放锁
          await lock.release();
        }
      };
      // Two plugins on two hosts, five times each, all at once.
      await Promise.all(
        contexts.flatMap((context) => Array.from({ length: 5 }, () => run(context))),
      );
      assert.equal(stored, 10);
      // Released in `finally`: free again.
      const again = await contexts[0]!.lock.tryAcquire('resource:lock');
      assert.ok(again !== null);
      await again.release();
    });

    it('releases the lock when the critical section throws', async () => {
      const context = contexts[0]!;
      const updateResource = async (): Promise<void> => {
        throw new Error('update failed');
      };
      await assert.rejects(async () => {
        const lock = await context.lock.acquire('resource:lock', { ttl: 30000 });
        try {
          await updateResource();
        } finally {
          await lock.release();
        }
      }, /update failed/);
      const again = await contexts[1]!.lock.tryAcquire('resource:lock');
      assert.ok(again !== null, 'the finally block released it');
      await again.release();
    });
  });
}
