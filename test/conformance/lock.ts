import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, LockAttempt } from '../../src/backends/ports.js';
import { until, type BackendHarness, type HarnessFactory } from './harness.js';

const LONG = 10_000;

function token(attempt: LockAttempt): number {
  assert.equal(attempt.granted, true, 'expected the lock to be granted');
  return (attempt as { fencingToken: number }).fencingToken;
}

function refused(attempt: LockAttempt): number {
  assert.equal(attempt.granted, false, 'expected the lock to be refused');
  return (attempt as { holderTtlMs: number }).holderTtlMs;
}

/** What a watch of a resource heard (the owner ids first in line), and a bounded wait for more. */
function hearing(): {
  heard: Array<string | undefined>;
  /** The holder's TTL each wake-up carried (a grant from the line), or undefined (a release). */
  ttls: Array<number | undefined>;
  listener: (next?: string, holderTtlMs?: number) => void;
  woken: (count: number) => Promise<unknown>;
} {
  const heard: Array<string | undefined> = [];
  const ttls: Array<number | undefined> = [];
  let wake: () => void = () => undefined;
  return {
    heard,
    ttls,
    listener: (next, holderTtlMs) => {
      heard.push(next);
      ttls.push(holderTtlMs);
      wake();
    },
    // Resolves on the wake-up itself; the bound's timer is cleared then (no timer left behind).
    woken: (count) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no wake-up')), 3000);
        wake = () => {
          if (heard.length < count) return;
          clearTimeout(timer);
          resolve();
        };
        wake();
      }),
  };
}

/** The LockStore port contract (see src/backends/ports.ts), on two nodes of one cluster. */
export function lockConformance(name: string, factory: HarnessFactory): void {
  describe(`LockStore conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    let r: string;
    beforeEach(async () => {
      harness = await factory();
      a = await harness.create();
      b = await harness.create();
      await a.start();
      await b.start();
      r = `res:${Math.random().toString(36).slice(2, 8)}`;
    });
    afterEach(() => harness.cleanup());

    it('grants a resource to one owner at a time', async () => {
      token(await a.locks.acquire(r, 'one', LONG, 0));
      const ttl = refused(await b.locks.acquire(r, 'two', LONG, 0));
      assert.ok(ttl > 0 && ttl <= LONG, `holder TTL ${ttl}`);
      assert.equal(await a.locks.release(r, 'one'), true);
      token(await b.locks.acquire(r, 'two', LONG, 0));
    });

    it('frees a lock whose TTL lapsed', async () => {
      token(await a.locks.acquire(r, 'one', 80, 0));
      await until(async () => (await b.locks.acquire(r, 'two', LONG, 0)).granted, 3000, 'expiry');
    });

    it('refuses release and extend by a stale owner without touching the new holder', async () => {
      const first = token(await a.locks.acquire(r, 'stale', 60, 0));
      await until(async () => (await b.locks.acquire(r, 'new', LONG, 0)).granted, 3000, 'expiry');
      assert.equal(await a.locks.release(r, 'stale'), false);
      assert.equal(await a.locks.extend(r, 'stale', LONG), false);
      const left = refused(await a.locks.acquire(r, 'third', LONG, 0));
      assert.ok(left > LONG / 2, 'the new holder keeps its TTL');
      assert.equal(await b.locks.extend(r, 'new', LONG), true);
      assert.equal(await b.locks.release(r, 'new'), true);
      assert.ok(token(await a.locks.acquire(r, 'third', LONG, 0)) > first);
    });

    it('issues strictly increasing fencing tokens, the same one to a repeated attempt', async () => {
      let last = 0;
      for (let i = 0; i < 20; i++) {
        const node = i % 2 === 0 ? a : b;
        const t = token(await node.locks.acquire(r, `o${i}`, LONG, 0));
        assert.ok(t > last, `token ${t} after ${last}`);
        assert.equal(token(await node.locks.acquire(r, `o${i}`, LONG, 0)), t, 'idempotent');
        assert.equal(await node.locks.release(r, `o${i}`), true);
        last = t;
      }
      // Tokens start at the backend's clock in µs: a fresh resource starts above the others.
      assert.ok(token(await a.locks.acquire(`${r}:other`, 'x', LONG, 0)) > last);
    });

    it('serves five waiters in arrival order', async () => {
      token(await a.locks.acquire(r, 'holder', LONG, 0));
      const waiters = ['w1', 'w2', 'w3', 'w4', 'w5'];
      for (const [i, w] of waiters.entries())
        refused(await (i % 2 ? a : b).locks.acquire(r, w, LONG, LONG));
      assert.equal(await a.locks.release(r, 'holder'), true);
      const order: string[] = [];
      for (let round = 0; round < waiters.length; round++) {
        // Everyone still waiting tries, latest arrival first: only the head is granted.
        for (const w of [...waiters].reverse().filter((x) => !order.includes(x))) {
          const attempt = await b.locks.acquire(r, w, LONG, LONG);
          if (attempt.granted) order.push(w);
        }
        assert.equal(order.length, round + 1, `round ${round}: one grant`);
        assert.equal(await b.locks.release(r, order.at(-1)!), true);
      }
      assert.deepEqual(order, waiters);
      // A newcomer that never waited is refused while the line is not empty; not after.
      token(await a.locks.acquire(r, 'late', LONG, 0));
    });

    it('drops a waiter that stopped trying after its line time', async () => {
      token(await a.locks.acquire(r, 'holder', LONG, 0));
      // A line time long enough that a busy machine still asks again within it.
      refused(await a.locks.acquire(r, 'gone', LONG, 500));
      refused(await b.locks.acquire(r, 'next', LONG, LONG));
      assert.equal(await a.locks.release(r, 'holder'), true);
      const wait = refused(await b.locks.acquire(r, 'next', LONG, LONG));
      assert.ok(wait <= 500, `waits at most for the head's line time, got ${wait}`);
      await until(async () => (await b.locks.acquire(r, 'next', LONG, LONG)).granted, 3000, 'drop');
    });

    it('lets the next waiter in when the head leaves the line', async () => {
      token(await a.locks.acquire(r, 'holder', LONG, 0));
      refused(await a.locks.acquire(r, 'first', LONG, LONG));
      refused(await b.locks.acquire(r, 'second', LONG, LONG));
      assert.equal(await a.locks.release(r, 'holder'), true);
      refused(await b.locks.acquire(r, 'second', LONG, LONG));
      await a.locks.leave(r, 'first');
      token(await b.locks.acquire(r, 'second', LONG, LONG));
    });

    it('wakes watchers when the holder releases, naming the first waiter', async () => {
      const { heard, listener, woken } = hearing();
      const sub = await b.locks.watch(r, listener);
      token(await a.locks.acquire(r, 'holder', LONG, 0));
      refused(await b.locks.acquire(r, 'first', LONG, LONG));
      refused(await a.locks.acquire(r, 'second', LONG, LONG));
      assert.equal(await a.locks.release(r, 'holder'), true);
      await woken(1);
      assert.deepEqual(heard, ['first']);
      // The head gives up: the lock is free, so the next waiter is named.
      await b.locks.leave(r, 'first');
      await woken(2);
      assert.deepEqual(heard, ['first', 'second']);
      await sub.close();
      token(await a.locks.acquire(r, 'second', LONG, LONG));
    });

    it('never wakes a waiter whose place lapsed (it stopped trying): the next live one is named', async () => {
      const { heard, listener, woken } = hearing();
      const sub = await b.locks.watch(r, listener);
      token(await a.locks.acquire(r, 'holder', LONG, 0));
      refused(await b.locks.acquire(r, 'gone', LONG, 40));
      refused(await a.locks.acquire(r, 'live', LONG, LONG));
      // The place of "gone" lapses (a waiter that died renews it no more): time must pass.
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.equal(await a.locks.release(r, 'holder'), true);
      await woken(1);
      assert.deepEqual(heard, ['live']);
      await sub.close();
    });

    it('wakes the next waiter when the head of the line takes the lock (it must learn the new TTL)', async () => {
      const { heard, ttls, listener, woken } = hearing();
      const sub = await b.locks.watch(r, listener);
      token(await a.locks.acquire(r, 'holder', LONG, 0));
      refused(await b.locks.acquire(r, 'first', LONG, LONG));
      refused(await a.locks.acquire(r, 'second', LONG, LONG));
      assert.equal(await a.locks.release(r, 'holder'), true);
      await woken(1);
      token(await b.locks.acquire(r, 'first', 200, LONG));
      await woken(2);
      assert.deepEqual(heard, ['first', 'second']);
      // A release is a turn (no TTL); a grant from the line only tells the next its holder's TTL.
      assert.equal(ttls[0], undefined);
      assert.equal(ttls[1], 200);
      const attempt = await a.locks.acquire(r, 'second', LONG, LONG);
      assert.equal(attempt.granted, false);
      assert.ok(!attempt.granted && attempt.holderTtlMs <= 200, "the new holder's TTL");
      await sub.close();
    });
  });
}
