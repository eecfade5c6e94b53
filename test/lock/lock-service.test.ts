/** `context.lock` through real hosts, on the embedded backend and on Redis. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import {
  ContextClosedError,
  LockNotHeldError,
  LockTimeoutError,
  ValidationError,
} from '../../src/errors/errors.js';
import { until } from '../conformance/harness.js';
import { alive, BACKENDS, lockCluster, type LockCluster } from './lock-support.js';

let n = 0;
const fresh = (): string => `res:${process.pid}:${++n}`;

for (const [label, redis] of BACKENDS) {
  describe(`context.lock (${label})`, () => {
    let cluster: LockCluster;
    let a: PluginContext;
    let b: PluginContext;
    before(async () => {
      cluster = await lockCluster(redis, 2);
      [a, b] = cluster.contexts as [PluginContext, PluginContext];
    });
    after(() => cluster.stop());

    it('grants, refuses while held, and frees on release', async () => {
      const r = fresh();
      const before = Date.now();
      const lock = await a.lock.acquire(r, { ttl: 5000 });
      assert.equal(lock.resource, r);
      assert.ok(lock.expiresAt >= before + 5000 && lock.expiresAt <= Date.now() + 5000);
      assert.equal(await b.lock.tryAcquire(r), null);
      await lock.release();
      await lock.release(); // a second release is a no-op
      const next = await b.lock.tryAcquire(r);
      assert.ok(next !== null && next.fencingToken > lock.fencingToken);
      await next.release();
    });

    it('ends a wait with LockTimeoutError and leaves the line', async () => {
      const r = fresh();
      const lock = await a.lock.acquire(r);
      const started = performance.now();
      await assert.rejects(b.lock.acquire(r, { waitTimeout: 150, retryInterval: 50 }), (error) => {
        assert.ok(error instanceof LockTimeoutError);
        assert.equal(error.code, 'PB_LOCK_TIMEOUT');
        return true;
      });
      assert.ok(performance.now() - started >= 145);
      await until(async () => (await cluster.lineLength(r)) === 0, 3000, 'the line to empty');
      await lock.release();
      await (await b.lock.acquire(r, { waitTimeout: 0 })).release();
    });

    it('marks an expired lock lost: signal, onLost, release and extend refused', async () => {
      const r = fresh();
      const lock = await a.lock.acquire(r, { ttl: 100 });
      const lost: Error[] = [];
      lock.onLost((error) => lost.push(error));
      await alive(once(lock.signal, 'abort'));
      assert.ok(lock.signal.reason instanceof LockNotHeldError);
      assert.equal(lost.length, 1);
      await assert.rejects(lock.extend(1000), LockNotHeldError);
      await assert.rejects(lock.release(), LockNotHeldError);
      const late: Error[] = [];
      lock.onLost((error) => late.push(error));
      await alive(until(() => late.length === 1, 1000, 'a late onLost listener'));
      // Someone else holds it now; the stale holder's calls never touched it.
      const next = await b.lock.acquire(r, { waitTimeout: 2000 });
      assert.ok(next.fencingToken > lock.fencingToken);
      await next.release();
    });

    it('keeps a lock with autoExtend, and extend() moves expiresAt', async () => {
      const r = fresh();
      const lock = await a.lock.acquire(r, { ttl: 150, autoExtend: true });
      await new Promise((resolve) => setTimeout(resolve, 500)); // more than three TTLs
      assert.equal(lock.signal.aborted, false);
      assert.equal(await b.lock.tryAcquire(r), null);
      const before = lock.expiresAt;
      await lock.extend(5000);
      assert.ok(lock.expiresAt > before + 4000);
      await lock.release();
      assert.equal(lock.signal.aborted, false, 'a released lock is not lost');
    });

    it('wakes a waiter when the holder lapses without a notification', async () => {
      const r = fresh();
      const held = await a.lock.acquire(r, { ttl: 200 });
      const started = performance.now();
      // The fallback re-check is min(retryInterval, the holder's TTL): not 10 s.
      const lock = await b.lock.acquire(r, { retryInterval: 10_000, waitTimeout: 5000 });
      assert.ok(performance.now() - started < 3000);
      assert.ok(lock.fencingToken > held.fencingToken);
      await lock.release();
    });

    it('keeps mutual exclusion and arrival order among 4 contending clients', async () => {
      const r = fresh();
      const holder = await a.lock.acquire(r);
      const clients = [a, b, a, b];
      const granted: number[] = [];
      const waits: Array<Promise<void>> = [];
      for (const [i, ctx] of clients.entries()) {
        waits.push(
          ctx.lock.acquire(r, { waitTimeout: 10_000 }).then(async (lock) => {
            granted.push(i);
            await lock.release();
          }),
        );
        await until(async () => (await cluster.lineLength(r)) === i + 1, 3000, `waiter ${i}`);
      }
      await holder.release();
      await Promise.all(waits);
      assert.deepEqual(granted, [0, 1, 2, 3], 'served in arrival order');

      // Then 4 clients looping acquire/work/release: never two inside, tokens increasing.
      let inside = 0;
      let last = 0;
      const cycles = redis ? 15 : 40;
      await Promise.all(
        clients.map(async (ctx) => {
          for (let i = 0; i < cycles; i++) {
            const lock = await ctx.lock.acquire(r, { waitTimeout: 20_000 });
            assert.equal(++inside, 1, 'two holders at once');
            assert.ok(lock.fencingToken > last);
            last = lock.fencingToken;
            await new Promise((resolve) => setImmediate(resolve));
            inside--;
            await lock.release();
          }
        }),
      );
    });

    it('refuses bad input with ValidationError', async () => {
      for (const resource of ['', 'a b', '{x}', 'a..b', 42 as unknown as string])
        await assert.rejects(a.lock.acquire(resource), ValidationError, String(resource));
      for (const ttl of [NaN, -1, 0, Infinity, 2 ** 31, '5' as unknown as number])
        await assert.rejects(a.lock.acquire('ok', { ttl }), ValidationError, String(ttl));
      await assert.rejects(a.lock.acquire('ok', { waitTimeout: -1 }), ValidationError);
      await assert.rejects(a.lock.acquire('ok', { retryInterval: 0 }), ValidationError);
      await assert.rejects(a.lock.tryAcquire('ok', { ttl: NaN }), ValidationError);
      const lock = await a.lock.acquire(fresh());
      await assert.rejects(lock.extend(-5), ValidationError);
      assert.throws(() => lock.onLost('nope' as never), ValidationError);
      await assert.rejects(a.lock.acquire('ok', 'fast' as never), ValidationError);
      await lock.release();
    });
  });

  describe(`context.lock and host.stop() (${label})`, () => {
    it('keeps a lock its plugin took in a running handler until that handler ends', async () => {
      const cluster = await lockCluster(redis, 2);
      let open: () => void = () => undefined;
      try {
        const [a, b] = cluster.contexts as [PluginContext, PluginContext];
        const r = fresh();
        const gate = new Promise<void>((resolve) => (open = resolve));
        let entered: () => void = () => undefined;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        let releasedBy: unknown;
        a.eventBus.subscribe('locks.job', async () => {
          const lock = await a.lock.acquire(r, { ttl: 60_000 });
          entered();
          await gate; // the critical section, still running as the host stops
          await lock.release().catch((error: unknown) => (releasedBy = error));
        });
        // Not awaited: a publish waits for its handlers (up to handlerTimeout, 30 s), and this
        // one stays inside until the host stops.
        const published = a.eventBus.publish('locks.job').then(
          () => 'settled',
          (error: unknown) => error,
        );
        await inside;
        // A wait of the stopping plugin ends once its stop began (the scope aborts first).
        const blocker = await b.lock.acquire(`${r}:w`, { ttl: 60_000 });
        const waiting = a.lock.acquire(`${r}:w`, { waitTimeout: 30_000 }).catch((e: unknown) => e);
        await until(async () => (await cluster.lineLength(`${r}:w`)) === 1, 3000, 'the waiter');
        const stopping = cluster.hosts[0]!.stop();
        assert.ok((await waiting) instanceof ContextClosedError);
        assert.equal(await b.lock.tryAcquire(r), null, 'two holders: the handler is still inside');
        open();
        await stopping;
        assert.equal(await published, 'settled');
        assert.equal(releasedBy, undefined, 'the handler released its own lock');
        const next = await b.lock.tryAcquire(r);
        assert.ok(next !== null, 'free once the handler ended');
        await next.release();
        await blocker.release();
      } finally {
        open();
        await cluster.stop();
      }
    });

    it('releases the locks of stopping plugins and ends their waits', async () => {
      const cluster = await lockCluster(redis, 2);
      try {
        const [a, b] = cluster.contexts as [PluginContext, PluginContext];
        const r = fresh();
        const held = await a.lock.acquire(r, { ttl: 60_000 });
        const other = await b.lock.acquire(`${r}:b`, { ttl: 60_000 });
        const waiting = b.lock.acquire(r, { waitTimeout: 30_000 });
        await until(async () => (await cluster.lineLength(r)) === 1, 3000, 'the waiter');
        const outcome = waiting.then(
          () => 'granted',
          (error: unknown) => error,
        );
        assert.equal(cluster.hosts[1]!.health().plugins['locker']!.holdings?.locks, 1);
        await cluster.hosts[1]!.stop();
        assert.equal(cluster.hosts[1]!.health().plugins['locker']!.holdings?.locks, 0);
        const error = await outcome;
        assert.ok(error instanceof ContextClosedError, String(error));
        assert.equal(other.signal.aborted, false, 'released, not lost');
        // Host a's plugin can take b's lock at once: host.stop() released it.
        const taken = await a.lock.tryAcquire(`${r}:b`);
        assert.ok(taken !== null);
        await cluster.hosts[0]!.stop();
        assert.equal(held.signal.aborted, false);
        await assert.rejects(a.lock.acquire(fresh()), ContextClosedError);
      } finally {
        await cluster.stop();
      }
    });
  });
}
