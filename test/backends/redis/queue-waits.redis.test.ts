import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'ioredis';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import { loadScripts } from '../../../src/backends/redis/scripts.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from './support.js';

/** How claims wait on Redis: no polling, wake-ups only while someone waits, bounded script work. */
describe('Redis queue waits and bounded work', () => {
  const namespace = uniqueNamespace('qwait');
  const keys = createKeys(namespace);
  let a: Backend;
  let b: Backend;
  let claimCalls = 0;
  const claimSha = loadScripts().claimMessages.sha;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored in after()
  const original = Redis.prototype.sendCommand;

  before(async () => {
    a = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'qwait-a');
    b = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'qwait-b');
    Redis.prototype.sendCommand = function (this: Redis, command: Command, stream?: unknown) {
      if (command.name.toLowerCase() === 'evalsha' && String(command.args[0]) === claimSha)
        claimCalls++;
      return original.call(this, command, stream as never);
    };
  });
  after(async () => {
    Redis.prototype.sendCommand = original;
    await Promise.allSettled([a?.close(), b?.close()]);
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('sleeps until the due time Redis names: two claim calls for one delayed message', async (t) => {
    const q = 'q.sleep';
    await a.queues.enqueue(q, bytes('later'), { delayMs: 400 });
    claimCalls = 0;
    const started = Date.now();
    const got = await b.queues.claim(q, 'c', { count: 1, leaseMs: 60_000, waitMs: 5000 });
    const waited = Date.now() - started;
    assert.equal(got.length, 1);
    assert.ok(waited >= 380 && waited < 1000, `claimed after ${waited} ms`);
    assert.equal(claimCalls, 2, 'one look, one sleep, one claim: no polling');
    figure(t, 'claim calls while waiting 400 ms for a delayed message', claimCalls);
    figure(t, 'delayed message claimed after', waited, 'ms (due at 400)');
  });

  it('publishes wake-ups only while a claim waits on the queue', async (t) => {
    const q = 'q.marker';
    const heard: number[] = [];
    const listener = new Redis(SHARED_REDIS_URL);
    const publisher = new Redis(SHARED_REDIS_URL);
    try {
      await listener.subscribe(keys.queue(q).notify);
      listener.on('message', () => heard.push(Date.now()));
      for (let i = 0; i < 20; i++) await a.queues.enqueue(q, bytes(`m${i}`));
      const drained = await b.queues.claim(q, 'c', { count: 100, leaseMs: 60_000, waitMs: 0 });
      assert.equal(drained.length, 20);
      // A probe published on the channel: once heard, any wake-up published before it was too.
      await a.queues.enqueue('q.other', bytes('x'));
      await publisher.publish(keys.queue(q).notify, 'probe');
      await waitFor(() => heard.length >= 1, 2000, 'the probe');
      assert.equal(heard.length, 1, 'no wake-up published while nobody waited');

      const waiting = b.queues.claim(q, 'c', { count: 1, leaseMs: 60_000, waitMs: 5000 });
      await waitFor(async () => (await listener.pttl(keys.queue(q).wake)) > 0, 2000, 'the mark');
      const started = Date.now();
      await a.queues.enqueue(q, bytes('wake up'));
      assert.equal((await waiting).length, 1);
      figure(t, 'waiting claim woken by an enqueue after', Date.now() - started, 'ms');
      await waitFor(() => heard.length === 2, 2000, 'the wake-up');
    } finally {
      listener.disconnect();
      publisher.disconnect();
    }
  });

  it('moves dead letters back and purges them in chunks, and due messages into ready in bounded steps', async (t) => {
    const q = 'q.bulk';
    const n = 2500;
    const k = keys.queue(q);
    const raw = new Redis(SHARED_REDIS_URL);
    try {
      // 2 500 messages delayed by 1 ms: due at the next claim, which moves at most 1 000 of them.
      await Promise.all(
        Array.from({ length: n }, (_, i) => a.queues.enqueue(q, bytes(`m${i}`), { delayMs: 1 })),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      const sizes: number[] = [];
      for (;;) {
        const batch = await a.queues.claim(q, 'c', { count: n, leaseMs: 60_000, waitMs: 0 });
        if (batch.length === 0) break;
        sizes.push(batch.length);
        await Promise.all(batch.map((m) => a.queues.deadLetter(q, m.id, m.lease, 'bulk')));
      }
      assert.deepEqual(sizes, [1000, 1000, 500]);
      figure(t, 'messages per claim call with 2 500 due', sizes.join(', '));
      assert.equal(await raw.zcard(k.dead), n);
      assert.equal(await a.queues.retryDeadLetters(q), n);
      assert.deepEqual(await a.queues.counts(q), { ready: n, delayed: 0, leased: 0, dead: 0 });
      const activity = await a.queues.activity(q);
      assert.deepEqual([activity.enqueued, activity.failed], [n, n]);

      // Purged in chunks too, payloads and metas with them.
      const p = 'q.purge';
      await Promise.all(Array.from({ length: 1500 }, (_, i) => a.queues.enqueue(p, bytes(`${i}`))));
      const claimed = await a.queues.claim(p, 'c', { count: 1500, leaseMs: 60_000, waitMs: 0 });
      await Promise.all(claimed.map((m) => a.queues.deadLetter(p, m.id, m.lease, 'bulk')));
      assert.equal(await a.queues.purgeDeadLetters(p), 1500);
      const kp = keys.queue(p);
      assert.deepEqual(
        await Promise.all([
          raw.zcard(kp.dead),
          raw.hlen(kp.why),
          raw.hlen(kp.data),
          raw.hlen(kp.meta),
        ]),
        [0, 0, 0, 0],
      );
    } finally {
      raw.disconnect();
    }
  });
});
