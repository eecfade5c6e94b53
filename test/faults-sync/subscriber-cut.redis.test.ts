/**
 * The watchers' subscriber connection is cut (CLIENT KILL TYPE pubsub) several times while
 * changes are published: notifications sent while it was away are lost, so after each
 * reconnect the watchers read from their cursor. Every change still arrives, in order, once.
 * Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisBackend } from '../../src/backends/redis/index.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { Runtime } from '../../src/context/types.js';
import { figure, uniqueNamespace } from '../backends/redis/support.js';
import { until } from '../conformance/harness.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { silentLogger } from '../support/runtime.js';

const CHANGES = 2000;
const CUTS = 4;

describe(
  'data sync: the subscriber connection is cut during publishing',
  { timeout: 120_000 },
  () => {
    let server: RedisServer;
    let raw: Redis;
    const runtimes: Runtime[] = [];

    async function node(nodeId: string, namespace: string): Promise<Runtime> {
      const backend = await createRedisBackend(
        { redis: server.url, namespace, operationTimeout: 5000 },
        { nodeId, logger: silentLogger },
      );
      const runtime = createRuntime({ backend, logger: silentLogger });
      await runtime.start();
      runtimes.push(runtime);
      return runtime;
    }

    before(async () => {
      server = await startRedisServer();
      raw = new Redis(server.url);
    });
    after(async () => {
      await Promise.all(runtimes.map((r) => r.close()));
      raw?.disconnect();
      await server?.stop();
    });

    it('loses nothing and delivers nothing twice', async (t) => {
      const namespace = uniqueNamespace('sync-cut');
      const [writer, reader] = await Promise.all([
        node('writer', namespace),
        node('reader', namespace),
      ]);
      const ctx = (r: Runtime, name: string) =>
        r.createContext({ name, version: '1.0.0', permissions: undefined, options: {} }).context
          .dataSync;
      const named: number[] = [];
      const plain: number[] = [];
      const subs = [
        ctx(reader, 'a').watch('orders', (c) => void named.push(c.seq), { name: 'audit' }),
        ctx(reader, 'b').watch('orders', (c) => void plain.push(c.seq)),
      ];
      await Promise.all(subs.map((s) => s.ready));

      const sync = ctx(writer, 'shop');
      let published = 0;
      const publishing = (async () => {
        // 8 in flight: the cuts land between and during publishes.
        const lanes = Array.from({ length: 8 }, async () => {
          while (published < CHANGES) {
            published++;
            await sync.publish('orders', { type: 'create', id: published, data: { n: published } });
          }
        });
        await Promise.all(lanes);
      })();
      let killed = 0;
      for (let cut = 1; cut <= CUTS; cut++) {
        await until(() => published >= (cut * CHANGES) / (CUTS + 1), 30_000, `cut ${cut}`);
        killed += Number(await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      }
      await publishing;
      await until(
        () => named.length >= CHANGES && plain.length >= CHANGES,
        30_000,
        'every change at both watchers',
      ).catch((e: Error) => {
        throw new Error(`${e.message}: named ${named.length}, plain ${plain.length} of ${CHANGES}`);
      });
      await Promise.all(subs.map((s) => s.unsubscribe()));
      const all = Array.from({ length: CHANGES }, (_, i) => i + 1);
      figure(t, 'subscriber connections killed', killed);
      assert.ok(killed >= CUTS, 'the cuts happened');
      assert.deepEqual(named, all, 'named watcher: every change, in order, once');
      assert.deepEqual(plain, all, 'plain watcher: every change, in order, once');
    });

    it('after Redis restarts empty, watchers start over with the new feed', async () => {
      const namespace = uniqueNamespace('sync-restart');
      const [writer, reader] = await Promise.all([node('w2', namespace), node('r2', namespace)]);
      const ctx = (r: Runtime, name: string) =>
        r.createContext({ name, version: '1.0.0', permissions: undefined, options: {} }).context
          .dataSync;
      const seen: [number, unknown][] = [];
      const sub = ctx(reader, 'a').watch('orders', (c) => void seen.push([c.seq, c.id]));
      await sub.ready;
      const sync = ctx(writer, 'shop');
      for (let i = 1; i <= 5; i++) await sync.publish('orders', { type: 'create', id: `old${i}` });
      await until(() => seen.length === 5, 10_000, 'the first five');
      await server.restart();
      // The writer's first publish after the restart may race its reconnect: retry until it lands.
      await until(
        async () =>
          sync.publish('orders', { type: 'create', id: 'new1' }).then(
            () => true,
            () => false,
          ),
        20_000,
        'a publish after the restart',
      );
      await sync.publish('orders', { type: 'create', id: 'new2' });
      await until(() => seen.at(-1)?.[1] === 'new2', 20_000, 'the changes of the new feed').catch(
        (e: Error) => {
          throw new Error(`${e.message}: ${JSON.stringify(seen)}`);
        },
      );
      // A retried first publish may have landed twice (its reply lost in the restart).
      const fresh = seen.slice(5);
      assert.deepEqual(
        fresh.map(([seq]) => seq),
        fresh.map((_, i) => i + 1),
        'the new feed from seq 1, in order',
      );
      assert.ok(fresh.length <= 3 && fresh[0]?.[1] === 'new1');
      await sub.unsubscribe();
    });
  },
);
