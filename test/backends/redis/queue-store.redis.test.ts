import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import {
  QUEUE_WATCH_IDLE_MS,
  type RedisQueueStore,
} from '../../../src/backends/redis/redis-queue-store.js';
import { BackendUnavailableError } from '../../../src/errors/errors.js';
import {
  bytes,
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
  waitFor,
} from './support.js';

describe('Redis queue store', () => {
  const namespace = uniqueNamespace('queue');
  const option = { redis: SHARED_REDIS_URL, namespace };
  let a: Backend;
  let b: Backend;
  const claimNow = { count: 10, leaseMs: 60_000, waitMs: 0 };

  before(async () => {
    a = await startBackend(option, 'queue-a');
    b = await startBackend(option, 'queue-b');
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('delivers in order to one claimer, counts states, acknowledges once', async () => {
    const ids = [
      await a.queues.enqueue('q.order', bytes('m1')),
      await a.queues.enqueue('q.order', bytes('m2')),
    ];
    assert.deepEqual(await b.queues.counts('q.order'), {
      ready: 2,
      delayed: 0,
      leased: 0,
      dead: 0,
    });
    const claimed = await b.queues.claim('q.order', 'c1', claimNow);
    assert.deepEqual(
      claimed.map((m) => [m.id, text(m.payload), m.attempt]),
      [
        [ids[0], 'm1', 1],
        [ids[1], 'm2', 1],
      ],
    );
    assert.ok(claimed.every((m) => Math.abs(m.enqueuedAt - Date.now()) < 5000));
    assert.deepEqual(await a.queues.claim('q.order', 'c2', claimNow), []);
    assert.deepEqual(await a.queues.counts('q.order'), {
      ready: 0,
      delayed: 0,
      leased: 2,
      dead: 0,
    });
    assert.equal(await b.queues.ack('q.order', ids[0]!, claimed[0]!.lease), true);
    assert.equal(await b.queues.ack('q.order', ids[0]!, claimed[0]!.lease), false);
    assert.equal(
      await b.queues.deadLetter('q.order', ids[1]!, claimed[1]!.lease, 'handler failed 3 times'),
      true,
    );
    assert.deepEqual(await a.queues.counts('q.order'), {
      ready: 0,
      delayed: 0,
      leased: 0,
      dead: 1,
    });
  });

  it('redelivers after a lease expires and after a delayed release, with growing attempts', async () => {
    const id = await a.queues.enqueue('q.retry', bytes('x'));
    const [first] = await a.queues.claim('q.retry', 'c1', { count: 1, leaseMs: 150, waitMs: 0 });
    assert.equal(first?.attempt, 1);
    // Waiting claim: wakes when the lease ends, not at waitMs.
    let started = Date.now();
    const [second] = await b.queues.claim('q.retry', 'c2', {
      count: 1,
      leaseMs: 60_000,
      waitMs: 3000,
    });
    assert.deepEqual([second?.id, second?.attempt], [id, 2]);
    assert.ok(Date.now() - started < 1000, `redelivered after ${Date.now() - started} ms`);
    assert.equal(await b.queues.release('q.retry', id, second!.lease, 200), true);
    assert.deepEqual(await a.queues.counts('q.retry'), {
      ready: 0,
      delayed: 1,
      leased: 0,
      dead: 0,
    });
    started = Date.now();
    const [third] = await a.queues.claim('q.retry', 'c1', {
      count: 1,
      leaseMs: 60_000,
      waitMs: 3000,
    });
    const waited = Date.now() - started;
    assert.deepEqual([third?.id, third?.attempt], [id, 3]);
    assert.ok(waited >= 150 && waited < 1000, `released message came back after ${waited} ms`);
    assert.equal(await a.queues.ack('q.retry', id, third!.lease), true);
  });

  it('wakes a waiting claimer on enqueue, and competing claimers get each message once', async () => {
    const got: string[] = [];
    const consumers = ['c1', 'c2', 'c3'].map(async (consumer, i) => {
      const node = i % 2 === 0 ? a : b;
      for (;;) {
        const batch = await node.queues.claim('q.compete', consumer, {
          count: 4,
          leaseMs: 60_000,
          waitMs: 400,
        });
        if (batch.length === 0) return;
        for (const m of batch) {
          got.push(text(m.payload));
          assert.equal(await node.queues.ack('q.compete', m.id, m.lease), true);
        }
      }
    });
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => a.queues.enqueue('q.compete', bytes(`m${i}`))),
    );
    await Promise.all(consumers);
    assert.deepEqual(got.sort(), Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    assert.ok(Date.now() - started < 2000);
  });

  it('ends a waiting claim when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    assert.deepEqual(
      await a.queues.claim('q.abort', 'c', {
        count: 1,
        leaseMs: 1000,
        waitMs: 5000,
        signal: controller.signal,
      }),
      [],
    );
    assert.ok(Date.now() - started < 1000);
  });

  it('settles only under the current lease; a settled or lost lease changes nothing', async () => {
    const q = 'q.lease';
    const counts = (): Promise<unknown> => a.queues.counts(q);
    await a.queues.enqueue(q, bytes('one'));
    await a.queues.enqueue(q, bytes('two'));
    const [one, two] = await a.queues.claim(q, 'c1', claimNow);
    // Random, one per delivery: neither the attempt number nor another delivery's token.
    assert.ok(one && two && one.lease !== two.lease && one.lease !== String(one.attempt));
    // Wrong token (the attempt, another message's), unknown id, unknown queue: refused.
    assert.equal(await a.queues.ack(q, one.id, '1'), false);
    assert.equal(await a.queues.ack(q, one.id, two.lease), false);
    assert.equal(await a.queues.ack(q, 'no-such-id', one.lease), false);
    assert.equal(await a.queues.extend('q.lease-none', one.id, one.lease, 1000), false);
    assert.deepEqual(await counts(), { ready: 0, delayed: 0, leased: 2, dead: 0 });

    // Dead-lettered: no later ack, release, extend or dead-letter touches it.
    assert.equal(await a.queues.deadLetter(q, one.id, one.lease, 'bad'), true);
    assert.equal(await a.queues.ack(q, one.id, one.lease), false);
    assert.equal(await a.queues.release(q, one.id, one.lease, 0), false);
    assert.equal(await a.queues.extend(q, one.id, one.lease, 1000), false);
    assert.equal(await a.queues.deadLetter(q, one.id, one.lease, 'twice'), false);
    assert.deepEqual(await counts(), { ready: 0, delayed: 0, leased: 1, dead: 1 });

    // Released: the lease ended, so the old token settles nothing while it waits.
    assert.equal(await a.queues.release(q, two.id, two.lease, 60_000), true);
    assert.equal(await a.queues.ack(q, two.id, two.lease), false);
    assert.equal(await a.queues.extend(q, two.id, two.lease, 1000), false);
    assert.equal(await a.queues.deadLetter(q, two.id, two.lease, 'late'), false);
    assert.deepEqual(await counts(), { ready: 0, delayed: 1, leased: 0, dead: 1 });

    // Acknowledged: gone, and a second ack is refused.
    await a.queues.enqueue(q, bytes('three'));
    const [three] = await b.queues.claim(q, 'c2', claimNow);
    assert.equal(text(three!.payload), 'three');
    assert.equal(await b.queues.ack(q, three!.id, three!.lease), true);
    assert.equal(await b.queues.ack(q, three!.id, three!.lease), false);
    assert.equal(await b.queues.deadLetter(q, three!.id, three!.lease, 'late'), false);
    assert.deepEqual(await counts(), { ready: 0, delayed: 1, leased: 0, dead: 1 });
  });

  it('extends a lease past its original end, and a lapsed lease loses to the next claim', async () => {
    const q = 'q.extend';
    await a.queues.enqueue(q, bytes('long job'));
    const [m] = await a.queues.claim(q, 'c1', { count: 1, leaseMs: 300, waitMs: 0 });
    assert.equal(await a.queues.extend(q, m!.id, m!.lease, 1500), true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Past the original 300 ms, still leased.
    assert.deepEqual(await b.queues.claim(q, 'c2', claimNow), []);
    assert.deepEqual(await b.queues.counts(q), { ready: 0, delayed: 0, leased: 1, dead: 0 });
    // A lapsed lease not yet claimed again may still be settled by its holder...
    assert.equal(await a.queues.extend(q, m!.id, m!.lease, 1), true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await a.queues.release(q, m!.id, m!.lease, 0), true);
    // ...but once claimed again it belongs to the new holder only.
    const [again] = await b.queues.claim(q, 'c2', { count: 1, leaseMs: 50, waitMs: 0 });
    assert.equal(again?.attempt, 2);
    assert.notEqual(again.lease, m!.lease);
    // A waiting claim: Redis hands the message over when that 50 ms lease lapses, by its clock.
    const [third] = await a.queues.claim(q, 'c3', { count: 1, leaseMs: 60_000, waitMs: 5000 });
    assert.equal(third?.attempt, 3);
    assert.notEqual(third.lease, again.lease);
    assert.equal(await b.queues.extend(q, again.id, again.lease, 60_000), false);
    assert.equal(await b.queues.ack(q, again.id, again.lease), false);
    assert.equal(await a.queues.ack(q, third.id, third.lease), true);
    assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
  });

  it('returns at once for an already-aborted signal and leaves no abort listener behind', async () => {
    const aborted = AbortSignal.abort();
    let started = Date.now();
    assert.deepEqual(
      await a.queues.claim('q.sleep', 'c', { ...claimNow, waitMs: 5000, signal: aborted }),
      [],
    );
    assert.ok(Date.now() - started < 500, `returned after ${Date.now() - started} ms`);
    const controller = new AbortController();
    started = Date.now();
    assert.deepEqual(
      await a.queues.claim('q.sleep', 'c', {
        ...claimNow,
        waitMs: 150,
        signal: controller.signal,
      }),
      [],
    );
    assert.ok(Date.now() - started >= 140, 'waited for waitMs');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('subscribes a queue wake-up channel only while claims wait on it, and closes it on close()', async () => {
    const probe = new Redis(SHARED_REDIS_URL);
    const numsub = async (queue: string): Promise<number> =>
      Number((await probe.pubsub('NUMSUB', createKeys(namespace).queue(queue).notify))[1]);
    const node = await startBackend(option, 'queue-watch');
    const store = node.queues as RedisQueueStore;
    try {
      const waiting = [1, 2].map(() =>
        node.queues.claim('q.watch', 'c', { ...claimNow, waitMs: 300 }),
      );
      await waitFor(async () => (await numsub('q.watch')) === 1, 1000, 'the subscription');
      await Promise.all(waiting);
      assert.deepEqual(store.watchedQueues, ['q.watch'], 'kept a little while after use');
      // A claim soon after reuses the subscription.
      await node.queues.claim('q.watch', 'c', { ...claimNow, waitMs: 50 });
      await waitFor(
        async () => store.watchedQueues.length === 0 && (await numsub('q.watch')) === 0,
        QUEUE_WATCH_IDLE_MS + 1500,
        'the idle subscription to close',
      );

      // close() ends waiting claims and drops their subscription.
      const pending = node.queues.claim('q.watch2', 'c', { ...claimNow, waitMs: 10_000 });
      await waitFor(async () => (await numsub('q.watch2')) === 1, 1000, 'the subscription');
      store.close();
      assert.deepEqual(await pending, []);
      assert.deepEqual(store.watchedQueues, []);
      await waitFor(async () => (await numsub('q.watch2')) === 0, 1000, 'the unsubscribe');
    } finally {
      probe.disconnect();
      await node.close();
    }
  });

  it('keeps bindings for the whole cluster', async () => {
    await a.queues.bind('q.orders', 'order.*');
    await a.queues.bind('q.orders', 'order.*');
    await b.queues.bind('q:odd', 'x.**');
    const key = (x: { queue: string; pattern: string }): string => `${x.queue} ${x.pattern}`;
    assert.deepEqual(
      (await b.queues.bindings()).map(key).sort(),
      ['q.orders order.*', 'q:odd x.**'].sort(),
    );
    await a.queues.unbind('q:odd', 'x.**');
    assert.deepEqual(await b.queues.bindings(), [{ queue: 'q.orders', pattern: 'order.*' }]);
  });

  it('refuses operations after close', async () => {
    const closing = await startBackend(option, 'queue-closing');
    await closing.close();
    await assert.rejects(closing.queues.enqueue('q.x', bytes('x')), BackendUnavailableError);
  });
});
