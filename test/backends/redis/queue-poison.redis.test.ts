import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
} from './support.js';

/**
 * Queue records written straight into Redis (corrupt or forged) are skipped, repaired or
 * dead-lettered and counted; the queue keeps flowing and no claim fails.
 */
describe('Redis queues with poisoned records', () => {
  const namespace = uniqueNamespace('qpoison');
  const keys = createKeys(namespace);
  let raw: Redis;
  let a: Backend;
  const bad = (): number => (a as RedisBackend).faults.malformedQueueMessage;
  const claimAll = { count: 10, leaseMs: 60_000, waitMs: 0 };

  before(async () => {
    raw = new Redis(SHARED_REDIS_URL);
    a = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'qpoison-a');
  });
  after(async () => {
    await a?.close();
    raw?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('drops forged ready ids (list and priorities) without payload or meta, and claims the rest', async (t) => {
    const q = 'q.forged-ids';
    const k = keys.queue(q);
    await a.queues.enqueue(q, bytes('low'), { priority: -1 });
    await raw.rpush(k.ready, 'ghost-1');
    await a.queues.enqueue(q, bytes('plain'));
    await raw.zadd(k.prio, -5 * 2 ** 32, 'ghost-2');
    await raw.zadd(k.prio, 2 ** 33, 'ghost-3');
    await a.queues.enqueue(q, bytes('high'), { priority: 2 });
    const before = bad();
    const claimed = await a.queues.claim(q, 'c', claimAll);
    assert.deepEqual(
      claimed.map((m) => text(m.payload)),
      ['high', 'plain', 'low'],
    );
    assert.equal(bad() - before, 3);
    figure(t, 'forged ready ids dropped and counted', bad() - before, 'of 3');
    for (const m of claimed) assert.equal(await a.queues.ack(q, m.id, m.lease), true);
    assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
  });

  it('repairs garbage metas of ready, delayed and leased messages as first deliveries', async () => {
    const q = 'q.garbage-meta';
    const k = keys.queue(q);
    const leased = await a.queues.enqueue(q, bytes('leased'), { maxAttempts: 1 });
    const [lapsing] = await a.queues.claim(q, 'dies', { count: 1, leaseMs: 30, waitMs: 0 });
    assert.equal(lapsing?.id, leased);
    const ready = await a.queues.enqueue(q, bytes('ready'));
    const delayed = await a.queues.enqueue(q, bytes('delayed'), { delayMs: 50 });
    // Garbage everywhere: the old two-field format, empty, not numbers. The leased one's max
    // deliveries (1) is lost with its meta: it is delivered again rather than dead-lettered.
    await raw.hset(k.meta, ready, '3:1700000000000');
    await raw.hset(k.meta, delayed, '');
    await raw.hset(k.meta, leased, '-1:x:y:z');
    await new Promise((resolve) => setTimeout(resolve, 60));
    const before = bad();
    const claimed = await a.queues.claim(q, 'c', { ...claimAll, waitMs: 1000 });
    assert.deepEqual(claimed.map((m) => [text(m.payload), m.attempt]).sort(), [
      ['delayed', 1],
      ['leased', 1],
      ['ready', 1],
    ]);
    assert.ok(claimed.every((m) => m.enqueuedAt > 0));
    assert.equal(bad() - before, 3);
    for (const m of claimed) assert.equal(await a.queues.ack(q, m.id, m.lease), true);
  });

  it('drops a delayed id whose meta is gone, and a lapsed lease whose payload is gone', async () => {
    const q = 'q.missing';
    const k = keys.queue(q);
    const delayed = await a.queues.enqueue(q, bytes('d'), { delayMs: 20 });
    const leased = await a.queues.enqueue(q, bytes('l'));
    await a.queues.claim(q, 'dies', { count: 1, leaseMs: 20, waitMs: 0 });
    await raw.hdel(k.meta, delayed);
    await raw.hdel(k.data, leased);
    await a.queues.enqueue(q, bytes('fine'));
    await new Promise((resolve) => setTimeout(resolve, 40));
    const before = bad();
    const claimed = await a.queues.claim(q, 'c', claimAll);
    assert.deepEqual(
      claimed.map((m) => text(m.payload)),
      ['fine'],
    );
    assert.equal(bad() - before, 2);
    assert.equal(await raw.zcard(k.leased), 1, 'only the new lease');
    assert.equal(await raw.hlen(k.data), 1);

    // An enqueue makes due messages ready first, and drops (and counts) those without meta.
    const ghost = await a.queues.enqueue(q, bytes('ghost'), { delayMs: 1 });
    await raw.hdel(k.meta, ghost);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const beforeEnqueue = bad();
    await a.queues.enqueue(q, bytes('next'));
    assert.equal(bad() - beforeEnqueue, 1);
    assert.equal(await raw.zcard(k.delayed), 0);
    assert.equal(await raw.hexists(k.data, ghost), 0);
  });

  it('survives bookkeeping keys of the wrong type or with garbage: activity, rate limit, dedup', async () => {
    const q = 'q.bookkeeping';
    const k = keys.queue(q);
    await raw.set(k.rate, 'not a hash');
    await raw.set(k.rateLimit, 'lots'); // no expiry, not a number
    await raw.sadd(k.dedup('once'), 'x');
    await raw.sadd(k.epoch, 'x');
    const first = await a.queues.enqueue(q, bytes('1'), { dedupKey: 'once', dedupMs: 60_000 });
    assert.equal(
      await a.queues.enqueue(q, bytes('2'), { dedupKey: 'once', dedupMs: 60_000 }),
      first,
    );
    const limit = { max: 1, intervalMs: 60_000 };
    const [m] = await a.queues.claim(q, 'c', { ...claimAll, rateLimit: limit });
    assert.equal(m?.id, first);
    assert.equal(await a.queues.ack(q, m.id, m.lease), true);
    assert.ok((await raw.pttl(k.rateLimit)) > 0, 'a fresh window with an end');
    const activity = await a.queues.activity(q);
    assert.deepEqual([activity.enqueued, activity.completed, activity.ready], [1, 1, 0]);
    // Garbage counters for the seconds around now: counting starts afresh, never fails.
    const second = Math.floor(Date.now() / 1000);
    for (let at = second - 1; at <= second + 2; at++)
      await raw.hset(k.rate, `e${at}`, 'x', `c${at}`, 'y', `f${at}`, 'z', 'since', 'soon');
    await a.queues.enqueue(q, bytes('3'));
    const [n] = await a.queues.claim(q, 'c', claimAll);
    assert.equal(await a.queues.deadLetter(q, n!.id, n!.lease, 'x'), true);
    const after = await a.queues.activity(q);
    assert.ok(after.enqueued >= 1 && after.failed >= 1, JSON.stringify(after));
    assert.ok(after.windowMs >= 0 && after.windowMs < 5000, 'a garbage start is replaced');
  });

  it('replaces queue keys of the wrong type and goes on, for producers and claimers alike', async (t) => {
    const q = 'q.wrong-type';
    const k = keys.queue(q);
    const wrong = (): number => (a as RedisBackend).faults.wrongTypeKey;
    const kept = await a.queues.enqueue(q, bytes('kept'), { priority: 1 });
    await raw.set(k.ready, 'not a list');
    await raw.hset(k.leased, 'x', 'not a zset');
    const before = wrong();
    // The enqueue fails on the ready LIST, the repair replaces it and the leased ZSET, once.
    const fresh = await a.queues.enqueue(q, bytes('fresh'));
    assert.equal(wrong() - before, 1);
    assert.deepEqual([await raw.type(k.ready), await raw.type(k.leased)], ['list', 'none']);
    // A counter that is not an integer restarts far past every id given so far.
    await raw.set(k.seq, 'garbage');
    const third = await a.queues.enqueue(q, bytes('third'));
    assert.ok(Number(third) > Number(fresh) + 1e12, third);
    // The claimer: a delayed ZSET of the wrong type.
    await raw.sadd(k.delayed, 'x');
    const claimed = await a.queues.claim(q, 'c', claimAll);
    assert.deepEqual(
      claimed.map((m) => [m.id, text(m.payload)]),
      [
        [kept, 'kept'],
        [fresh, 'fresh'],
        [third, 'third'],
      ],
    );
    assert.equal(wrong() - before, 3);
    figure(
      t,
      'queue keys of the wrong type replaced (enqueue, enqueue, claim)',
      wrong() - before,
      'of 3',
    );
    for (const m of claimed) assert.equal(await a.queues.ack(q, m.id, m.lease), true);
  });

  it('keeps the activity counters bounded: fields older than a minute go', async () => {
    const q = 'q.activity';
    const k = keys.queue(q);
    const second = Math.floor(Date.now() / 1000);
    // As if the queue had been busy 100 s ago and 30 s ago.
    const old = second - 100;
    const stale = Array.from({ length: 60 }, (_, i) => [`e${old - i}`, '1']).flat();
    await raw.hset(k.rate, ...stale, 'laste', old, 'since', Date.now() - 200_000);
    await a.queues.enqueue(q, bytes('now'));
    const counters = (await raw.hkeys(k.rate)).filter((f) => /^e\d+$/.test(f));
    assert.equal(counters.length, 1, counters.join(' '));
    assert.ok(Number(counters[0]!.slice(1)) >= second);
    const activity = await a.queues.activity(q);
    assert.equal(activity.enqueued, 1);
    assert.equal(activity.windowMs, 60_000);
  });
});
