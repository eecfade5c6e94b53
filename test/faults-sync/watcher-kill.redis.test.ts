/**
 * A durable watcher process is killed with SIGKILL; 500 changes land while it is down; a new
 * process with the same durable name starts while they are still landing. It receives exactly
 * those 500, in seq order, none twice: the missed ones by reading from its saved cursor, the
 * rest as they are notified (the overlap of the two is where a duplicate would come from).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisBackend } from '../../src/backends/redis/index.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { Runtime } from '../../src/context/types.js';
import {
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  uniqueNamespace,
} from '../backends/redis/support.js';
import { until } from '../conformance/harness.js';
import { silentLogger } from '../support/runtime.js';
import { seqsOf, WatcherProcess } from './support.js';

const WARMUP = 20;
const CHANGES = 500;

describe(
  'data sync: a durable watcher killed with SIGKILL while changes land',
  { timeout: 120_000 },
  () => {
    const namespace = uniqueNamespace('sync-kill');
    const collection = 'users';
    const tally = `${namespace}:tally`;
    const where = { redisUrl: SHARED_REDIS_URL, namespace, collection, name: 'mailer', tally };
    let raw: Redis;
    let runtime: Runtime;
    const processes: WatcherProcess[] = [];

    before(async () => {
      raw = new Redis(SHARED_REDIS_URL);
      const backend = await createRedisBackend(
        { redis: SHARED_REDIS_URL, namespace },
        { nodeId: 'publisher', logger: silentLogger },
      );
      runtime = createRuntime({ backend, logger: silentLogger });
      await runtime.start();
    });
    after(async () => {
      await Promise.all(processes.map((p) => p.stop()));
      await runtime?.close();
      await raw.del(tally);
      raw.disconnect();
      await deleteNamespace(SHARED_REDIS_URL, namespace);
    });

    it('the restarted watcher receives exactly the changes it missed, in order, none twice', async (t) => {
      const sync = runtime.createContext({
        name: 'users-service',
        version: '1.0.0',
        permissions: undefined,
        options: {},
      }).context.dataSync;
      const publish = (i: number) =>
        sync.publish(collection, { type: 'create', id: `u${i}`, data: { i } });

      const first = await WatcherProcess.start(where);
      processes.push(first);
      for (let i = 1; i <= WARMUP; i++) await publish(i);
      const cursorKey = `{${namespace}:f:${collection}}:cur`;
      await until(
        async () => (await raw.hget(cursorKey, 'mailer')) === String(WARMUP),
        10_000,
        'the first watcher to handle the warm-up and save its cursor',
      );
      await first.kill();
      const before = seqsOf(await raw.lrange(tally, 0, -1));
      assert.deepEqual(
        before,
        Array.from({ length: WARMUP }, (_, i) => i + 1),
      );

      // 500 changes land; half-way, the watcher restarts under the same name.
      const started = Date.now();
      let landed = 0;
      const publishing = (async () => {
        for (let i = WARMUP + 1; i <= WARMUP + CHANGES; i++) {
          await publish(i);
          landed++;
        }
      })();
      await until(() => landed >= CHANGES / 2, 30_000, 'half of the changes to land');
      const second = await WatcherProcess.start(where);
      processes.push(second);
      await publishing;
      const publishMs = Date.now() - started;
      await until(
        async () => (await raw.llen(tally)) >= WARMUP + CHANGES,
        30_000,
        'every change to reach the restarted watcher',
      );
      const caughtUpMs = Date.now() - started;
      // Anything extra (a duplicate) would arrive right behind: give it a moment via a round trip.
      await second.stop();
      const records = await raw.lrange(tally, 0, -1);
      const after = seqsOf(records.slice(WARMUP));
      figure(t, 'changes while the watcher was down or restarting', CHANGES);
      figure(t, 'published 500 changes in', publishMs, 'ms');
      figure(t, 'restarted watcher caught up', caughtUpMs, 'ms after the first of them');
      assert.equal(records.length, WARMUP + CHANGES, 'none twice, none lost');
      assert.deepEqual(
        after,
        Array.from({ length: CHANGES }, (_, i) => WARMUP + i + 1),
        'in order',
      );
      assert.deepEqual(
        records.slice(WARMUP).map((r) => r.split(':')[1]),
        Array.from({ length: CHANGES }, (_, i) => `u${WARMUP + i + 1}`),
      );
    });
  },
);
