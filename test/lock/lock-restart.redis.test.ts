/**
 * Locks across a Redis restart without persistence (a throwaway server): holders hear at the
 * reconnect that their locks are gone, and new tokens still exceed every earlier one.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host } from '../../src/host/types.js';
import { LockNotHeldError } from '../../src/errors/errors.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { silentLogger } from '../support/runtime.js';

describe('locks and a Redis restart without persistence', () => {
  let server: RedisServer;
  let host: Host;
  let context!: PluginContext;
  before(async () => {
    server = await startRedisServer();
    host = await createHost({
      logger: silentLogger,
      backend: { redis: server.url, namespace: 'restart' },
      plugins: [
        definePlugin({ name: 'holder', version: '1.0.0', activate: (c) => void (context = c) }),
      ],
    });
    await host.start();
  });
  after(async () => {
    await host.stop();
    await server.stop();
  });

  it('runs the lock scripts again after Redis flushed its script cache (NOSCRIPT)', async () => {
    const admin = new Redis(server.url);
    try {
      await admin.script('FLUSH');
      const [a, b] = await Promise.all([
        context.lock.acquire('flushed:1', { ttl: 60_000 }),
        context.lock.acquire('flushed:2', { ttl: 60_000 }),
      ]);
      assert.equal(await context.lock.tryAcquire('flushed:1'), null);
      await admin.script('FLUSH');
      await Promise.all([a.release(), b.release()]);
      const again = await context.lock.tryAcquire('flushed:1');
      assert.ok(again !== null && again.fencingToken > a.fencingToken);
      await admin.script('FLUSH');
      await again.extend(30_000);
      await again.release();
    } finally {
      admin.disconnect();
    }
  });

  it('tells holders their locks are gone and keeps tokens increasing', async () => {
    const held = await context.lock.acquire('account:1', { ttl: 60_000 });
    const released = await context.lock.acquire('account:2', { ttl: 60_000 });
    await released.release();
    const blocking = await context.lock.acquire('account:3', { ttl: 60_000 });
    // A waiter whose next fallback re-check is 30 s away: the restart must not leave it hanging.
    const waiting = context.lock.acquire('account:3', {
      retryInterval: 30_000,
      waitTimeout: 20_000,
    });
    waiting.catch(() => undefined); // awaited below; this only keeps an early failure handled
    const lost = once(held.signal, 'abort');
    await server.restart();
    // Well before the 60 s TTL: the reconnect made the holder ask, and Redis had nothing.
    const started = performance.now();
    await lost;
    assert.ok(performance.now() - started < 15_000);
    assert.ok(held.signal.reason instanceof LockNotHeldError);
    await assert.rejects(held.release(), LockNotHeldError);

    const again = await context.lock.acquire('account:1', { waitTimeout: 5000 });
    assert.ok(again.fencingToken > held.fencingToken, 'the clock part outgrows the lost token');
    const other = await context.lock.acquire('account:2', { waitTimeout: 5000 });
    assert.ok(other.fencingToken > released.fencingToken);
    await again.release();
    await other.release();

    // The waiter tried again once the connection was back, and Redis had no holder any more.
    const granted = await waiting;
    assert.ok(performance.now() - started < 15_000);
    assert.ok(granted.fencingToken > blocking.fencingToken);
    await granted.release();
    await assert.rejects(blocking.release(), LockNotHeldError);
  });
});
