import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../../src/backends/ports.js';
import { BackendUnavailableError } from '../../../src/errors/errors.js';
import {
  bytes,
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
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
    await b.queues.ack('q.order', ids[0]!);
    await b.queues.ack('q.order', ids[0]!);
    await b.queues.deadLetter('q.order', ids[1]!, 'handler failed 3 times');
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
    await b.queues.release('q.retry', id, 200);
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
    await a.queues.ack('q.retry', id);
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
          await node.queues.ack('q.compete', m.id);
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
