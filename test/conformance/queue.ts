import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import { bytes, text, type BackendHarness, type HarnessFactory } from './harness.js';

/** The QueueStore port contract (see src/backends/ports.ts). */
export function queueConformance(name: string, factory: HarnessFactory): void {
  describe(`QueueStore conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    let q: string;
    beforeEach(async () => {
      harness = await factory();
      [a, b] = await Promise.all([harness.create(), harness.create()]);
      await Promise.all([a.start(), b.start()]);
      q = `q.test${Math.random().toString(36).slice(2, 8)}`;
    });
    afterEach(() => harness.cleanup());

    const lease = { count: 10, leaseMs: 5000, waitMs: 0 };

    it('delivers each message once, in order, to competing consumers', async () => {
      for (let i = 0; i < 6; i++) await a.queues.enqueue(q, bytes(`m${i}`));
      const first = await a.queues.claim(q, 'c1', { ...lease, count: 4 });
      const second = await b.queues.claim(q, 'c2', lease);
      assert.deepEqual(
        first.map((m) => text(m.payload)),
        ['m0', 'm1', 'm2', 'm3'],
      );
      assert.deepEqual(
        second.map((m) => text(m.payload)),
        ['m4', 'm5'],
      );
      assert.ok(first.every((m) => m.attempt === 1 && m.enqueuedAt > 0));
      for (const m of [...first, ...second])
        assert.equal(await a.queues.ack(q, m.id, m.lease), true);
      assert.deepEqual(await a.queues.claim(q, 'c1', lease), []);
      assert.deepEqual(await b.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
    });

    it('waits for a message when asked to, and stops waiting on abort', async () => {
      const waiting = b.queues.claim(q, 'c1', { ...lease, waitMs: 3000 });
      setTimeout(() => void a.queues.enqueue(q, bytes('late')), 50);
      assert.deepEqual(
        (await waiting).map((m) => text(m.payload)),
        ['late'],
      );
      const controller = new AbortController();
      const started = Date.now();
      const aborted = b.queues.claim(q, 'c1', {
        ...lease,
        waitMs: 3000,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 50);
      assert.deepEqual(await aborted, []);
      assert.ok(Date.now() - started < 2500);
    });

    it('redelivers a message whose lease expired, with attempt + 1', async () => {
      await a.queues.enqueue(q, bytes('x'));
      const [m] = await a.queues.claim(q, 'dies', { ...lease, leaseMs: 100 });
      assert.ok(m);
      assert.deepEqual(await b.queues.claim(q, 'other', lease), []);
      const again = await b.queues.claim(q, 'other', { ...lease, waitMs: 2000 });
      assert.deepEqual(
        again.map((r) => [text(r.payload), r.attempt]),
        [['x', 2]],
      );
      assert.equal(await b.queues.ack(q, again[0]!.id, again[0]!.lease), true);
    });

    it('releases with a delay and dead-letters with a reason', async () => {
      await a.queues.enqueue(q, bytes('retry-me'));
      const [m] = await a.queues.claim(q, 'c', lease);
      assert.equal(await a.queues.release(q, m!.id, m!.lease, 150), true);
      assert.equal((await a.queues.counts(q)).delayed, 1);
      assert.deepEqual(await a.queues.claim(q, 'c', lease), []);
      const [again] = await a.queues.claim(q, 'c', { ...lease, waitMs: 2000 });
      assert.equal(again?.attempt, 2);
      assert.equal(await a.queues.deadLetter(q, again.id, again.lease, 'gave up'), true);
      assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 1 });
    });

    it('refuses to let a consumer settle a lease it lost, and honours extend', async () => {
      await a.queues.enqueue(q, bytes('contested'));
      const [slow] = await a.queues.claim(q, 'slow', { ...lease, leaseMs: 100 });
      const [fast] = await b.queues.claim(q, 'fast', { ...lease, leaseMs: 5000, waitMs: 2000 });
      assert.ok(slow && fast && fast.id === slow.id && fast.lease !== slow.lease);
      // the slow consumer comes back late: none of its settlements may touch the new lease
      assert.equal(await a.queues.ack(q, slow.id, slow.lease), false);
      assert.equal(await a.queues.release(q, slow.id, slow.lease, 0), false);
      assert.equal(await a.queues.deadLetter(q, slow.id, slow.lease, 'late'), false);
      assert.equal(await a.queues.extend(q, slow.id, slow.lease, 5000), false);
      assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 1, dead: 0 });
      // the holder extends its lease: nobody else can claim the message meanwhile
      assert.equal(await b.queues.extend(q, fast.id, fast.lease, 5000), true);
      assert.deepEqual(await a.queues.claim(q, 'other', lease), []);
      assert.equal(await b.queues.ack(q, fast.id, fast.lease), true);
      assert.equal(
        await b.queues.ack(q, fast.id, fast.lease),
        false,
        'acknowledging twice changes nothing',
      );
    });

    it('keeps persistent bindings visible to every node', async () => {
      await a.queues.bind(`${q}.b`, 'order.*');
      await a.queues.bind(`${q}.b`, 'order.*');
      await a.queues.bind(`${q}.b`, 'user.**');
      const mine = (await b.queues.bindings())
        .filter((x) => x.queue === `${q}.b`)
        .map((x) => x.pattern)
        .sort();
      assert.deepEqual(mine, ['order.*', 'user.**']);
      await b.queues.unbind(`${q}.b`, 'order.*');
      assert.deepEqual(
        (await a.queues.bindings()).filter((x) => x.queue === `${q}.b`).map((x) => x.pattern),
        ['user.**'],
      );
      await b.queues.unbind(`${q}.b`, 'user.**');
    });
  });
}
