import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend, RegistryChange } from '../../../src/backends/ports.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from './support.js';

const TTL = 900;
/** TTL plus one reap interval (ttl / 5 ± 10 %) plus scheduling slack. */
const EXPIRY_BOUND = TTL + 600;

describe('Redis backend liveness', () => {
  const namespace = uniqueNamespace('liveness');
  const option = { redis: SHARED_REDIS_URL, namespace, livenessTtl: TTL };
  let watcher: Backend;
  let raw: Redis;

  before(async () => {
    watcher = await startBackend(option, 'watcher');
    raw = new Redis(SHARED_REDIS_URL);
  });
  after(async () => {
    await watcher?.close();
    raw?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('removes the entries of a node killed with SIGKILL and tells watchers, within about the TTL', async (t) => {
    const changes: RegistryChange[] = [];
    await watcher.registry.watch('k.proc', (c) => changes.push(c));
    const fixture = fileURLToPath(new URL('./fixtures/node-process.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fixture, SHARED_REDIS_URL, namespace, 'doomed', String(TTL)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      const [line] = (await Promise.race([
        once(child.stdout, 'data'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('child did not start')), 10_000);
        }),
      ])) as [Buffer];
      assert.equal(line.toString().trim(), 'ready');
      assert.deepEqual(
        (await watcher.registry.list('k.proc')).map((r) => r.id),
        ['doomed:entry'],
      );
    } finally {
      // Its timer would keep this process alive for the rest of the 10 s.
      clearTimeout(timer);
      child.kill('SIGKILL');
    }
    const killedAt = Date.now();
    await waitFor(
      () => changes.some((c) => c.type === 'delete' && c.id === 'doomed:entry'),
      EXPIRY_BOUND,
      'delete after kill -9',
    );
    const removedAfter = Date.now() - killedAt;
    assert.ok(removedAfter >= TTL - 400, 'not removed before its liveness could lapse');
    figure(
      t,
      'SIGKILLed process: entry delete seen by a watcher after',
      removedAfter,
      `ms (livenessTtl ${TTL})`,
    );
    assert.deepEqual(await watcher.registry.list('k.proc'), []);
    assert.ok(!(await watcher.registry.liveNodes()).includes('doomed'));
  });

  it('a node whose liveness lapsed is reaped, then rejoins with its entries on its next heartbeat', async (t) => {
    const stalled = await startBackend(option, 'stalled');
    try {
      const changes: string[] = [];
      await watcher.registry.watch('k.stall', (c) =>
        changes.push(c.type === 'put' ? `put:${c.record.id}` : `delete:${c.id}`),
      );
      await stalled.registry.put('k.stall', 'svc', bytes('v'));
      await waitFor(() => changes.length === 1, 2000, 'first put');
      // As if the node had stalled past its TTL (GC pause, frozen VM): its deadline is in the past.
      await raw.zadd(`{${namespace}}:nodes`, 0, 'stalled');
      const lapsedAt = Date.now();
      await waitFor(() => changes.length >= 3, TTL + 1000, 'reap and rejoin');
      figure(
        t,
        'lapsed node: reaped and rejoined after',
        Date.now() - lapsedAt,
        `ms (livenessTtl ${TTL})`,
      );
      assert.deepEqual(changes.slice(0, 3), ['put:svc', 'delete:svc', 'put:svc']);
      assert.deepEqual(
        (await watcher.registry.list('k.stall')).map((r) => r.id),
        ['svc'],
      );
      assert.ok((await watcher.registry.liveNodes()).includes('stalled'));
    } finally {
      await stalled.close();
    }
  });

  it('hides entries of a lapsed node from list() even before it is reaped', async () => {
    // A node that never heartbeats: its entries are written directly with a lapsed deadline.
    const ghost = `{${namespace}}:reg:k.ghost`;
    const entry = Buffer.concat([Buffer.from([5]), Buffer.from('ghost'), Buffer.from('v')]);
    await raw.hset(ghost, 'g1', entry);
    await raw.zadd(`{${namespace}}:nodes`, Date.now() + 60_000, 'ghost');
    assert.deepEqual(
      (await watcher.registry.list('k.ghost')).map((r) => `${r.nodeId}/${r.id}`),
      ['ghost/g1'],
    );
    await raw.zadd(`{${namespace}}:nodes`, 1, 'ghost');
    assert.deepEqual(await watcher.registry.list('k.ghost'), []);
    // Not in any owned set, so no reaper removes it: list() hid it by the owner's lapsed deadline.
    assert.equal(await raw.hexists(ghost, 'g1'), 1);
  });
});
