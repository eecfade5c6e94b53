import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, ClaimedMessage } from '../../src/backends/ports.js';
import { ValidationError } from '../../src/errors/errors.js';
import { bytes, text, type BackendHarness, type HarnessFactory } from './harness.js';

const payloads = (messages: ClaimedMessage[]): string[] => messages.map((m) => text(m.payload));

/**
 * The QueueStore port's batch calls (see src/backends/ports.ts): `enqueueMany` behaves as
 * `enqueue` called once per item in order, `ackMany` as `ack` once per item.
 */
export function queueBatchConformance(name: string, factory: HarnessFactory): void {
  describe(`QueueStore batches: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    let q: string;
    beforeEach(async () => {
      harness = await factory();
      [a, b] = await Promise.all([harness.create(), harness.create()]);
      await Promise.all([a.start(), b.start()]);
      q = `q.batch${Math.random().toString(36).slice(2, 8)}`;
    });
    afterEach(() => harness.cleanup());

    const lease = { count: 1000, leaseMs: 5000, waitMs: 0 };

    describe('enqueueMany', () => {
      it('stores the items in order with their own options, one id each', async () => {
        const ids = await a.queues.enqueueMany(q, [
          { payload: bytes('m1') },
          { payload: bytes('hi'), options: { priority: 5 } },
          { payload: bytes('later'), options: { delayMs: 60_000 } },
          { payload: bytes('m2'), options: { maxAttempts: 3 } },
          { payload: bytes('lo'), options: { priority: -5 } },
        ]);
        assert.equal(ids.length, 5);
        assert.equal(new Set(ids).size, 5);
        assert.deepEqual(await a.queues.counts(q), { ready: 4, delayed: 1, leased: 0, dead: 0 });
        const got = await b.queues.claim(q, 'c', lease);
        assert.deepEqual(payloads(got), ['hi', 'm1', 'm2', 'lo']);
        assert.deepEqual(
          got.map((m) => m.id),
          [ids[1], ids[0], ids[3], ids[4]],
        );
        assert.equal((await a.queues.activity(q)).enqueued, 5);
      });

      it('keeps FIFO with single enqueues around it, and across large batches', async () => {
        await a.queues.enqueue(q, bytes('0'));
        const many = Array.from({ length: 1200 }, (_, i) => ({ payload: bytes(String(i + 1)) }));
        const ids = await a.queues.enqueueMany(q, many);
        assert.equal(new Set(ids).size, 1200);
        await a.queues.enqueue(q, bytes('1201'));
        const got: ClaimedMessage[] = [];
        while (got.length < 1202) {
          const batch = await b.queues.claim(q, 'c', lease);
          assert.ok(batch.length > 0, `claimed ${got.length} of 1202`);
          got.push(...batch);
        }
        assert.deepEqual(
          payloads(got),
          Array.from({ length: 1202 }, (_, i) => String(i)),
        );
      });

      it('dedups per item, against earlier sends and within the batch', async () => {
        const dedup = (key: string) => ({ dedupKey: key, dedupMs: 60_000 });
        const first = await a.queues.enqueue(q, bytes('k1'), dedup('k1'));
        const ids = await b.queues.enqueueMany(q, [
          { payload: bytes('dup-k1'), options: dedup('k1') },
          { payload: bytes('k2'), options: dedup('k2') },
          { payload: bytes('plain') },
          { payload: bytes('dup-k2'), options: { ...dedup('k2'), delayMs: 10 } },
          { payload: bytes('k3'), options: dedup('k3') },
        ]);
        assert.equal(ids[0], first);
        assert.equal(ids[3], ids[1]);
        assert.equal(new Set([first, ids[1], ids[2], ids[4]]).size, 4);
        assert.deepEqual(payloads(await a.queues.claim(q, 'c', lease)), [
          'k1',
          'k2',
          'plain',
          'k3',
        ]);
        // Remembered as if sent one by one.
        assert.equal(await a.queues.enqueue(q, bytes('again'), dedup('k3')), ids[4]);
        assert.equal((await a.queues.activity(q)).enqueued, 4);
      });

      it('refuses the whole batch for one bad item, storing nothing', async () => {
        await assert.rejects(
          a.queues.enqueueMany(q, [
            { payload: bytes('ok') },
            { payload: bytes('bad'), options: { priority: 1.5 } },
          ]),
          ValidationError,
        );
        assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
      });

      it('answers an empty batch with no ids', async () => {
        assert.deepEqual(await a.queues.enqueueMany(q, []), []);
      });
    });

    describe('ackMany', () => {
      it('acks current leases, refuses late or foreign ones per item, in order', async () => {
        await a.queues.enqueueMany(
          q,
          ['a', 'b', 'c', 'd'].map((p) => ({ payload: bytes(p) })),
        );
        const got = await a.queues.claim(q, 'c1', { ...lease, leaseMs: 5000 });
        assert.equal(got.length, 4);
        const [m1, m2, m3, m4] = got as [
          ClaimedMessage,
          ClaimedMessage,
          ClaimedMessage,
          ClaimedMessage,
        ];
        // m2 released, then claimed by someone else: its old lease is late.
        assert.equal(await a.queues.release(q, m2.id, m2.lease, 0), true);
        const [again] = await b.queues.claim(q, 'c2', lease);
        assert.equal(again!.id, m2.id);
        const done = await b.queues.ackMany(q, [
          { id: m1.id, lease: m1.lease },
          { id: m2.id, lease: m2.lease },
          { id: m3.id, lease: m4.lease },
          { id: 'no-such-id', lease: m1.lease },
          { id: m4.id, lease: m4.lease },
          { id: m1.id, lease: m1.lease },
        ]);
        assert.deepEqual(done, [true, false, false, false, true, false]);
        assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 2, dead: 0 });
        // The refused ones are untouched: their current holders still settle them.
        assert.deepEqual(
          await a.queues.ackMany(q, [
            { id: m3.id, lease: m3.lease },
            { id: again!.id, lease: again!.lease },
          ]),
          [true, true],
        );
        assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
        assert.equal((await a.queues.activity(q)).completed, 4);
      });

      it('acks large batches, and an empty one', async () => {
        const n = 1100;
        await a.queues.enqueueMany(
          q,
          Array.from({ length: n }, (_, i) => ({ payload: bytes(String(i)) })),
        );
        const got: ClaimedMessage[] = [];
        while (got.length < n) {
          const batch = await a.queues.claim(q, 'c', lease);
          assert.ok(batch.length > 0, `claimed ${got.length} of ${n}`);
          got.push(...batch);
        }
        const done = await b.queues.ackMany(
          q,
          got.map(({ id, lease: l }) => ({ id, lease: l })),
        );
        assert.equal(done.length, n);
        assert.ok(done.every((d) => d));
        assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
        assert.deepEqual(await a.queues.ackMany(q, []), []);
      });
    });
  });
}
