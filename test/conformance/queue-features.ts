import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, ClaimedMessage, EnqueueOptions } from '../../src/backends/ports.js';
import { bytes, text, until, type BackendHarness, type HarnessFactory } from './harness.js';

/** Resolve once the local clock reaches `epochMs` (the backend's clock is this machine's). */
function clockAt(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));
}

/**
 * Bounds of the timing tests. A due message may be claimed a little late (a scheduler tick, a
 * busy machine), never early; `EARLY_MS` only absorbs millisecond rounding between clocks.
 */
const EARLY_MS = 2;
const LATE_MS = 1500;

const payloads = (messages: ClaimedMessage[]): string[] => messages.map((m) => text(m.payload));

/**
 * The QueueStore port's delivery options (see src/backends/ports.ts): delayed and due-time
 * messages, priorities, idempotency keys, the backend's own attempt limit, cluster-wide rate
 * limits, `remove`, `activity`, `retryDeadLetters` and the validation of all of them.
 */
export function queueFeaturesConformance(name: string, factory: HarnessFactory): void {
  describe(`QueueStore delivery options: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    let q: string;
    beforeEach(async () => {
      harness = await factory();
      [a, b] = await Promise.all([harness.create(), harness.create()]);
      await Promise.all([a.start(), b.start()]);
      q = `q.feat${Math.random().toString(36).slice(2, 8)}`;
    });
    afterEach(() => harness.cleanup());

    const lease = { count: 10, leaseMs: 5000, waitMs: 0 };

    /** Claim (waiting up to 3 s each time) until `n` messages arrived; fails past `ms`. */
    async function claimAll(store: Backend, n: number, ms = 5000): Promise<ClaimedMessage[]> {
      const out: ClaimedMessage[] = [];
      const deadline = Date.now() + ms;
      while (out.length < n && Date.now() < deadline)
        out.push(...(await store.queues.claim(q, 'c', { ...lease, waitMs: 3000 })));
      assert.equal(out.length, n, `claimed ${out.length} of ${n} messages`);
      return out;
    }

    /**
     * Claim without waiting, as a check that nothing comes early: before `dueAt` it must come back
     * empty. On a machine so busy that the call ends after `dueAt`, a message may come, and then
     * only that is checked (a timer's lateness is no fault of the backend).
     */
    async function claimNotBefore(store: Backend, dueAt: number): Promise<ClaimedMessage[]> {
      const got = await store.queues.claim(q, 'c', lease);
      const at = Date.now();
      if (got.length > 0)
        assert.ok(at >= dueAt - EARLY_MS, `claimed ${dueAt - at} ms before it was due`);
      return got;
    }

    describe('delays and due times', () => {
      it('never delivers a delayed message early, and delivers it soon after it is due', async () => {
        const started = Date.now();
        const id = await a.queues.enqueue(q, bytes('later'), { delayMs: 400 });
        assert.deepEqual(await b.queues.counts(q), { ready: 0, delayed: 1, leased: 0, dead: 0 });
        let got = await claimNotBefore(b, started + 400);
        await clockAt(started + 200);
        if (got.length === 0) got = await claimNotBefore(b, started + 400);
        // Polled without waiting: claimable once due, with no claim having to wait for it.
        await until(
          async () => got.length > 0 || (got = await b.queues.claim(q, 'c', lease)).length > 0,
          400 + LATE_MS,
          'the delayed message',
        );
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 400 - EARLY_MS, `delivered after ${elapsed} ms, due at 400`);
        assert.ok(elapsed < 400 + LATE_MS, `delivered after ${elapsed} ms, due at 400`);
        assert.deepEqual(
          got.map((m) => [m.id, text(m.payload), m.attempt]),
          [[id, 'later', 1]],
        );
        assert.ok(got[0]!.enqueuedAt >= started - EARLY_MS && got[0]!.enqueuedAt <= started + 400);
      });

      it('wakes a waiting claim at the due time of a message enqueued before it waited', async () => {
        const started = Date.now();
        await a.queues.enqueue(q, bytes('due'), { delayMs: 300 });
        // One call: it must sleep until the due time the backend knows, not return empty.
        const got = await b.queues.claim(q, 'c', { ...lease, waitMs: 5000 });
        const elapsed = Date.now() - started;
        assert.deepEqual(payloads(got), ['due']);
        assert.ok(elapsed >= 300 - EARLY_MS, `delivered after ${elapsed} ms, due at 300`);
        assert.ok(elapsed < 300 + LATE_MS, `delivered after ${elapsed} ms, due at 300`);
      });

      it('wakes a waiting claim at the due time of a message enqueued while it waited', async () => {
        const started = Date.now();
        // Waiting on an empty queue: the enqueue wakes it, it finds nothing ready and must sleep
        // again until the new message is due (well before its own 5 s wait ends).
        const waiting = b.queues.claim(q, 'c', { ...lease, waitMs: 5000 });
        await clockAt(started + 50);
        const enqueued = Date.now();
        await a.queues.enqueue(q, bytes('soon'), { delayMs: 300 });
        const got = await waiting;
        const elapsed = Date.now() - enqueued;
        assert.deepEqual(payloads(got), ['soon']);
        assert.ok(elapsed >= 300 - EARLY_MS, `delivered ${elapsed} ms after enqueue, due at 300`);
        assert.ok(elapsed < 300 + LATE_MS, `delivered ${elapsed} ms after enqueue, due at 300`);
      });

      it('stops a claim waiting for a due time on abort', async () => {
        await a.queues.enqueue(q, bytes('far'), { delayMs: 60_000 });
        const controller = new AbortController();
        const started = Date.now();
        const waiting = b.queues.claim(q, 'c', {
          ...lease,
          waitMs: 10_000,
          signal: controller.signal,
        });
        setTimeout(() => controller.abort(), 50);
        assert.deepEqual(await waiting, []);
        assert.ok(Date.now() - started < 50 + LATE_MS, 'returned soon after the abort');
        assert.equal((await b.queues.counts(q)).delayed, 1);
      });

      it('honours notBefore; a past one is ready at once', async () => {
        const started = Date.now();
        await a.queues.enqueue(q, bytes('past'), { notBefore: started - 60_000 });
        await a.queues.enqueue(q, bytes('at'), { notBefore: started + 300 });
        assert.deepEqual(await b.queues.counts(q), { ready: 1, delayed: 1, leased: 0, dead: 0 });
        assert.deepEqual(payloads(await b.queues.claim(q, 'c', lease)), ['past']);
        const got = await b.queues.claim(q, 'c', { ...lease, waitMs: 5000 });
        const at = Date.now();
        assert.deepEqual(payloads(got), ['at']);
        assert.ok(at >= started + 300 - EARLY_MS, `delivered ${at - started} ms in, due at 300`);
        assert.ok(at < started + 300 + LATE_MS, `delivered ${at - started} ms in, due at 300`);
      });

      it('takes the later of delayMs and notBefore', async () => {
        const started = Date.now();
        await a.queues.enqueue(q, bytes('delay-wins'), { delayMs: 400, notBefore: started + 100 });
        await a.queues.enqueue(q, bytes('due-wins'), { delayMs: 100, notBefore: started + 400 });
        assert.equal((await b.queues.counts(q)).delayed, 2);
        await clockAt(started + 200);
        const early = await claimNotBefore(b, started + 400);
        const got = [...early, ...(await claimAll(b, 2 - early.length))];
        const elapsed = Date.now() - started;
        assert.deepEqual(payloads(got).sort(), ['delay-wins', 'due-wins']);
        assert.ok(elapsed >= 400 - EARLY_MS, `both delivered after ${elapsed} ms, due at 400`);
      });

      it('makes due messages ready in due order, not enqueue order', async () => {
        const started = Date.now();
        await a.queues.enqueue(q, bytes('second'), { delayMs: 500 });
        await a.queues.enqueue(q, bytes('first'), { delayMs: 100 });
        await clockAt(started + 500 + 100);
        assert.deepEqual(payloads(await b.queues.claim(q, 'c', lease)), ['first', 'second']);
      });

      it('queues a message that fell due between the ones ready before and after its due time', async () => {
        await a.queues.enqueue(q, bytes('before'));
        await a.queues.enqueue(q, bytes('due'), { delayMs: 100 });
        await clockAt(Date.now() + 100 + 50);
        // Nothing claimed or counted since it fell due: its place is still its due time.
        await a.queues.enqueue(q, bytes('after'));
        assert.deepEqual(payloads(await b.queues.claim(q, 'c', lease)), ['before', 'due', 'after']);
      });

      it('keeps a delayMs of 0 and a plain message in enqueue order', async () => {
        await a.queues.enqueue(q, bytes('one'), { delayMs: 0 });
        await a.queues.enqueue(q, bytes('two'));
        await a.queues.enqueue(q, bytes('three'), { delayMs: 0, priority: 0 });
        assert.deepEqual(payloads(await b.queues.claim(q, 'c', lease)), ['one', 'two', 'three']);
      });
    });

    describe('priorities', () => {
      it('claims higher priorities first, negative ones after the default, FIFO within each', async () => {
        const sent: Array<[string, EnqueueOptions | undefined]> = [
          ['d1', undefined],
          ['p5a', { priority: 5 }],
          ['n3a', { priority: -3 }],
          ['d2', { priority: 0 }],
          ['max', { priority: 1_000_000 }],
          ['p5b', { priority: 5 }],
          ['min', { priority: -1_000_000 }],
          ['n3b', { priority: -3 }],
          ['d3', {}],
          ['p1', { priority: 1 }],
        ];
        for (const [p, options] of sent) await a.queues.enqueue(q, bytes(p), options);
        const expected = ['max', 'p5a', 'p5b', 'p1', 'd1', 'd2', 'd3', 'n3a', 'n3b', 'min'];
        // One at a time from two nodes, then the same again in one claim.
        const oneByOne: string[] = [];
        for (let i = 0; i < sent.length; i++) {
          const store = i % 2 === 0 ? a : b;
          const got = await store.queues.claim(q, 'c', { ...lease, count: 1 });
          oneByOne.push(...payloads(got));
          for (const m of got) await store.queues.release(q, m.id, m.lease, 60_000);
        }
        assert.deepEqual(oneByOne, expected);
        const q2 = `${q}.all`;
        for (const [p, options] of sent) await a.queues.enqueue(q2, bytes(p), options);
        assert.deepEqual(payloads(await b.queues.claim(q2, 'c', lease)), expected);
      });

      it('puts a delayed high-priority message ahead of ready ones once it is due', async () => {
        await a.queues.enqueue(q, bytes('urgent'), { delayMs: 150, priority: 10 });
        const due = Date.now() + 150;
        await a.queues.enqueue(q, bytes('plain1'));
        await a.queues.enqueue(q, bytes('plain2'));
        await clockAt(due + 50);
        assert.deepEqual(payloads(await b.queues.claim(q, 'c', lease)), [
          'urgent',
          'plain1',
          'plain2',
        ]);
      });
    });

    describe('idempotency keys', () => {
      it('enqueues once per key within the window, across nodes, whatever became of the first', async () => {
        const first = await a.queues.enqueue(q, bytes('one'), { dedupKey: 'k1', dedupMs: 60_000 });
        assert.equal(
          await b.queues.enqueue(q, bytes('dup'), { dedupKey: 'k1', dedupMs: 60_000 }),
          first,
        );
        assert.equal(
          await a.queues.enqueue(q, bytes('dup2'), { dedupKey: 'k1', dedupMs: 60_000, delayMs: 5 }),
          first,
        );
        assert.deepEqual(await a.queues.counts(q), { ready: 1, delayed: 0, leased: 0, dead: 0 });
        const other = await b.queues.enqueue(q, bytes('two'), { dedupKey: 'k2', dedupMs: 60_000 });
        assert.notEqual(other, first);
        // The same key on another queue is another key.
        const elsewhere = await a.queues.enqueue(`${q}.x`, bytes('x'), {
          dedupKey: 'k1',
          dedupMs: 60_000,
        });
        assert.equal((await a.queues.counts(`${q}.x`)).ready, 1);
        assert.ok(typeof elsewhere === 'string' && elsewhere.length > 0);
        assert.deepEqual(await a.queues.counts(q), { ready: 2, delayed: 0, leased: 0, dead: 0 });
        const got = await a.queues.claim(q, 'c', lease);
        assert.deepEqual(payloads(got), ['one', 'two']);
        for (const m of got) assert.equal(await a.queues.ack(q, m.id, m.lease), true);
        // Settled, but the key is still remembered: still nothing enqueued.
        assert.equal(
          await b.queues.enqueue(q, bytes('dup3'), { dedupKey: 'k1', dedupMs: 60_000 }),
          first,
        );
        assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
        assert.equal((await a.queues.activity(q)).enqueued, 2);
      });

      it('enqueues anew once the window has passed', async () => {
        const first = await a.queues.enqueue(q, bytes('one'), { dedupKey: 'k', dedupMs: 400 });
        const expired = Date.now() + 400;
        assert.equal(
          await b.queues.enqueue(q, bytes('dup'), { dedupKey: 'k', dedupMs: 400 }),
          first,
        );
        await clockAt(expired + 50);
        const again = await b.queues.enqueue(q, bytes('again'), { dedupKey: 'k', dedupMs: 200 });
        assert.notEqual(again, first);
        assert.equal(
          await a.queues.enqueue(q, bytes('dup'), { dedupKey: 'k', dedupMs: 200 }),
          again,
        );
        assert.deepEqual(payloads(await a.queues.claim(q, 'c', lease)), ['one', 'again']);
      });
    });

    describe('attempt limit', () => {
      it('dead-letters a message whose leases keep lapsing at the next claim, while others flow', async () => {
        const poison = await a.queues.enqueue(q, bytes('poison'), { maxAttempts: 2 });
        const [first] = await a.queues.claim(q, 'dies', { ...lease, leaseMs: 50 });
        assert.equal(first?.attempt, 1);
        // Lease lapsed: delivered again while attempts remain.
        const [second] = await b.queues.claim(q, 'dies', { ...lease, leaseMs: 50, waitMs: 3000 });
        assert.deepEqual([second?.id, second?.attempt], [poison, 2]);
        const lapsed = Date.now() + 50 + 150;
        await a.queues.enqueue(q, bytes('fine'));
        await clockAt(lapsed);
        // Attempts used up: this claim dead-letters it and still hands out the next message.
        const got = await b.queues.claim(q, 'c', { ...lease, count: 1 });
        assert.deepEqual(payloads(got), ['fine']);
        assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 1, dead: 1 });
        const [dead] = await a.queues.deadLetters(q, 10);
        assert.ok(dead);
        assert.deepEqual([dead.id, text(dead.payload), dead.attempt], [poison, 'poison', 2]);
        assert.ok(dead.reason.length > 0, 'a reason is recorded');
        // Counted as failed once: the lapsed leases before it were not failures it was told of.
        assert.equal((await b.queues.activity(q)).failed, 1);
        // The lapsed deliveries' tokens settle nothing.
        assert.equal(await a.queues.ack(q, poison, second!.lease), false);
        assert.equal(await a.queues.ack(q, got[0]!.id, got[0]!.lease), true);
      });

      it('dead-letters it even when nothing else is waiting, and does not wait for it', async () => {
        await a.queues.enqueue(q, bytes('poison'), { maxAttempts: 1 });
        const [first] = await a.queues.claim(q, 'dies', { ...lease, leaseMs: 50 });
        assert.equal(first?.attempt, 1);
        await clockAt(Date.now() + 50 + 150);
        assert.deepEqual(await b.queues.claim(q, 'c', lease), []);
        assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 1 });
      });

      it('delivers a retried dead letter again, however many attempts it had', async () => {
        const id = await a.queues.enqueue(q, bytes('poison'), { maxAttempts: 1 });
        await a.queues.claim(q, 'dies', { ...lease, leaseMs: 50 });
        await clockAt(Date.now() + 50 + 150);
        assert.deepEqual(await b.queues.claim(q, 'c', lease), []);
        assert.equal(await b.queues.retryDeadLetter(q, id), true);
        const [again] = await b.queues.claim(q, 'c', lease);
        assert.deepEqual([again?.id, again?.attempt], [id, 2]);
        assert.equal(await b.queues.ack(q, id, again!.lease), true);
      });

      it('redelivers a message released by its consumer while attempts remain', async () => {
        await a.queues.enqueue(q, bytes('retry'), { maxAttempts: 3, priority: 5 });
        const [m] = await a.queues.claim(q, 'c', lease);
        assert.equal(await a.queues.release(q, m!.id, m!.lease, 0), true);
        const [again] = await b.queues.claim(q, 'c', lease);
        assert.deepEqual([again?.id, again?.attempt], [m!.id, 2]);
        assert.equal(await b.queues.ack(q, again!.id, again!.lease), true);
      });
    });

    describe('rate limits', () => {
      it('never claims more than the limit in one window across nodes; a waiting claim gets more after it', async () => {
        const rateLimit = { max: 3, intervalMs: 1000 };
        for (let i = 0; i < 8; i++) await a.queues.enqueue(q, bytes(`m${i}`));
        // The window starts with the first claim that takes something.
        const started = Date.now();
        const one = await a.queues.claim(q, 'c1', { ...lease, count: 2, rateLimit });
        const two = await b.queues.claim(q, 'c2', { ...lease, count: 5, rateLimit });
        const three = await a.queues.claim(q, 'c1', { ...lease, count: 5, rateLimit });
        const burst = Date.now() - started;
        assert.ok(burst < rateLimit.intervalMs, `the burst took ${burst} ms: too slow to judge`);
        assert.deepEqual(
          [one.length, two.length, three.length],
          [2, 1, 0],
          'three claims in the first window',
        );
        assert.deepEqual(payloads([...one, ...two]), ['m0', 'm1', 'm2']);
        // A waiting claim sleeps until the window ends, then gets at most the next window's max.
        const waited = await b.queues.claim(q, 'c2', {
          ...lease,
          count: 5,
          waitMs: 5000,
          rateLimit,
        });
        const at = Date.now() - started;
        assert.ok(waited.length >= 1 && waited.length <= 3, `got ${waited.length}`);
        assert.ok(at >= rateLimit.intervalMs - EARLY_MS, `more came ${at} ms in`);
        assert.ok(at < rateLimit.intervalMs + LATE_MS, `more came ${at} ms in`);
        const rest = await a.queues.claim(q, 'c1', { ...lease, count: 5, rateLimit });
        assert.ok(waited.length + rest.length <= 3, 'the second window holds the limit too');
        assert.equal((await a.queues.counts(q)).ready, 8 - 3 - waited.length - rest.length);
      });

      it('does not count claims that took nothing, nor limit other queues', async () => {
        const rateLimit = { max: 2, intervalMs: 60_000 };
        for (let i = 0; i < 3; i++)
          assert.deepEqual(await a.queues.claim(q, 'c', { ...lease, rateLimit }), []);
        for (let i = 0; i < 3; i++) await a.queues.enqueue(q, bytes(`m${i}`));
        for (let i = 0; i < 3; i++) await a.queues.enqueue(`${q}.other`, bytes(`o${i}`));
        assert.equal((await b.queues.claim(q, 'c', { ...lease, rateLimit })).length, 2);
        assert.equal((await b.queues.claim(q, 'c', { ...lease, rateLimit })).length, 0);
        const other = await b.queues.claim(`${q}.other`, 'c', { ...lease, rateLimit });
        assert.equal(other.length, 2);
      });
    });

    describe('remove', () => {
      it('removes waiting messages (ready, delayed, released), not leased, dead or unknown ones', async () => {
        const ready = await a.queues.enqueue(q, bytes('ready'));
        const delayed = await a.queues.enqueue(q, bytes('delayed'), { delayMs: 60_000 });
        const leased = await a.queues.enqueue(q, bytes('leased'));
        const released = await a.queues.enqueue(q, bytes('released'));
        const dead = await a.queues.enqueue(q, bytes('dead'));
        const kept = await a.queues.enqueue(q, bytes('kept'), { priority: -1 });
        const claimed = await a.queues.claim(q, 'c', { ...lease, count: 4 });
        assert.deepEqual(payloads(claimed), ['ready', 'leased', 'released', 'dead']);
        const byId = new Map(claimed.map((m) => [m.id, m]));
        const r = byId.get(released)!;
        assert.equal(await a.queues.release(q, r.id, r.lease, 60_000), true);
        const d = byId.get(dead)!;
        assert.equal(await a.queues.deadLetter(q, d.id, d.lease, 'gone'), true);
        const readyAgain = byId.get(ready)!;
        assert.equal(await a.queues.release(q, readyAgain.id, readyAgain.lease, 0), true);
        assert.deepEqual(await b.queues.counts(q), { ready: 2, delayed: 2, leased: 1, dead: 1 });

        assert.equal(await b.queues.remove(q, ready), true);
        assert.equal(await b.queues.remove(q, delayed), true);
        assert.equal(await b.queues.remove(q, released), true);
        assert.equal(await b.queues.remove(q, ready), false, 'removed already');
        assert.equal(await b.queues.remove(q, leased), false, 'leased right now');
        assert.equal(await b.queues.remove(q, dead), false, 'a dead letter is not waiting');
        assert.equal(await b.queues.remove(q, 'no-such-id'), false);
        assert.equal(await b.queues.remove(`${q}.none`, kept), false, 'another queue');
        assert.deepEqual(await a.queues.counts(q), { ready: 1, delayed: 0, leased: 1, dead: 1 });
        assert.deepEqual(payloads(await a.queues.claim(q, 'c', lease)), ['kept']);
        const l = byId.get(leased)!;
        assert.equal(await a.queues.ack(q, l.id, l.lease), true);
      });

      it('leaves a message whose lease lapsed alone until it is claimed again', async () => {
        const id = await a.queues.enqueue(q, bytes('lapsing'));
        const [m] = await a.queues.claim(q, 'slow', { ...lease, leaseMs: 50 });
        await clockAt(Date.now() + 50 + 100);
        // Its receiver may still settle it: not a waiting message.
        assert.equal(await b.queues.remove(q, id), false);
        assert.equal(await a.queues.ack(q, m!.id, m!.lease), true);
        assert.equal(await b.queues.remove(q, id), false, 'settled');
      });
    });

    describe('activity', () => {
      it('counts what the queue did lately, as seen from every node', async () => {
        const idle = await b.queues.activity(q);
        assert.deepEqual(
          { ...idle, windowMs: 0 },
          {
            ready: 0,
            delayed: 0,
            leased: 0,
            dead: 0,
            enqueued: 0,
            completed: 0,
            failed: 0,
            windowMs: 0,
          },
        );
        for (let i = 0; i < 5; i++) await a.queues.enqueue(q, bytes(`m${i}`));
        await a.queues.enqueue(q, bytes('later'), { delayMs: 60_000 });
        const [m0, m1, m2, m3] = await a.queues.claim(q, 'c', { ...lease, count: 4 });
        assert.equal(await a.queues.ack(q, m0!.id, m0!.lease), true);
        assert.equal(await a.queues.ack(q, m1!.id, m1!.lease), true);
        assert.equal(await a.queues.release(q, m2!.id, m2!.lease, 0), true);
        assert.equal(await a.queues.deadLetter(q, m3!.id, m3!.lease, 'bad'), true);
        // A settle refused (stale token) changes no count.
        assert.equal(await a.queues.ack(q, m0!.id, m0!.lease), false);
        const seen = await b.queues.activity(q);
        assert.ok(seen.windowMs > 0 && seen.windowMs <= 60_000, `windowMs ${seen.windowMs}`);
        assert.deepEqual(
          { ...seen, windowMs: 0 },
          {
            ready: 2,
            delayed: 1,
            leased: 0,
            dead: 1,
            enqueued: 6,
            completed: 2,
            failed: 2,
            windowMs: 0,
          },
        );
      });
    });

    describe('retryDeadLetters', () => {
      it('moves every dead letter back, claimable at once with attempts kept', async () => {
        assert.equal(await a.queues.retryDeadLetters(q), 0, 'nothing to retry');
        for (const n of ['d1', 'd2', 'd3']) await a.queues.enqueue(q, bytes(n));
        for (const m of await a.queues.claim(q, 'c', lease))
          assert.equal(await a.queues.deadLetter(q, m.id, m.lease, 'bad'), true);
        assert.equal((await a.queues.counts(q)).dead, 3);
        assert.equal(await b.queues.retryDeadLetters(q), 3);
        assert.deepEqual(await a.queues.counts(q), { ready: 3, delayed: 0, leased: 0, dead: 0 });
        assert.deepEqual(await b.queues.deadLetters(q, 10), []);
        const again = await a.queues.claim(q, 'c', lease);
        assert.deepEqual(
          again.map((m) => [text(m.payload), m.attempt]),
          [
            ['d1', 2],
            ['d2', 2],
            ['d3', 2],
          ],
        );
        assert.equal(await b.queues.retryDeadLetters(q), 0);
      });
    });

    describe('validation', () => {
      const bad: Array<[string, EnqueueOptions]> = [
        ['priority above the range', { priority: 1_000_001 }],
        ['priority below the range', { priority: -1_000_001 }],
        ['a fractional priority', { priority: 1.5 }],
        ['a NaN priority', { priority: Number.NaN }],
        ['a negative delay', { delayMs: -1 }],
        ['a NaN delay', { delayMs: Number.NaN }],
        ['an infinite delay', { delayMs: Number.POSITIVE_INFINITY }],
        ['a NaN notBefore', { notBefore: Number.NaN }],
        ['a dedupKey without dedupMs', { dedupKey: 'k' }],
        ['a dedupMs of 0', { dedupKey: 'k', dedupMs: 0 }],
        ['a NaN dedupMs', { dedupKey: 'k', dedupMs: Number.NaN }],
        ['a dedupMs over 30 days', { dedupKey: 'k', dedupMs: 30 * 86_400_000 + 1 }],
        ['a negative maxAttempts', { maxAttempts: -1 }],
        ['a fractional maxAttempts', { maxAttempts: 1.5 }],
      ];
      for (const [what, options] of bad)
        it(`refuses ${what} with ValidationError and stores nothing`, async () => {
          await assert.rejects(async () => a.queues.enqueue(q, bytes('x'), options), {
            code: 'PB_VALIDATION',
          });
          assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
        });

      it('accepts the edges of every range', async () => {
        await a.queues.enqueue(q, bytes('1'), { priority: 1_000_000 });
        await a.queues.enqueue(q, bytes('2'), { priority: -1_000_000 });
        await a.queues.enqueue(q, bytes('3'), { dedupKey: 'k', dedupMs: 30 * 86_400_000 });
        await a.queues.enqueue(q, bytes('4'), { delayMs: 0, notBefore: 0, maxAttempts: 0 });
        assert.equal((await a.queues.counts(q)).ready, 4);
      });

      it('refuses a bad rate limit with ValidationError', async () => {
        await a.queues.enqueue(q, bytes('x'));
        for (const rateLimit of [
          { max: 0, intervalMs: 1000 },
          { max: 1.5, intervalMs: 1000 },
          { max: 1, intervalMs: 0 },
          { max: 1, intervalMs: Number.NaN },
          { max: Number.NaN, intervalMs: 1000 },
        ])
          await assert.rejects(async () => a.queues.claim(q, 'c', { ...lease, rateLimit }), {
            code: 'PB_VALIDATION',
          });
        assert.equal((await a.queues.counts(q)).ready, 1, 'nothing was claimed');
      });

      it('refuses a bad claim count, lease or wait, and a bad extend or release, alike on every backend', async () => {
        await a.queues.enqueue(q, bytes('x'));
        for (const bad of [
          { count: 0 },
          { count: 1.5 },
          { leaseMs: 0 },
          { leaseMs: Number.NaN },
          { waitMs: -1 },
        ])
          await assert.rejects(async () => a.queues.claim(q, 'c', { ...lease, ...bad }), {
            code: 'PB_VALIDATION',
          });
        const [m] = await a.queues.claim(q, 'c', lease);
        for (const leaseMs of [0, Number.NaN, Infinity])
          await assert.rejects(async () => a.queues.extend(q, m!.id, m!.lease, leaseMs), {
            code: 'PB_VALIDATION',
          });
        for (const delayMs of [-1, Number.NaN, Infinity])
          await assert.rejects(async () => a.queues.release(q, m!.id, m!.lease, delayMs), {
            code: 'PB_VALIDATION',
          });
        // The lease is untouched by the refused calls.
        assert.equal(await a.queues.ack(q, m!.id, m!.lease), true);
      });
    });

    describe('existing behaviour with options in play', () => {
      it('still releases with a delay and dead-letters with the given reason', async () => {
        await a.queues.enqueue(q, bytes('m'), { priority: 7, maxAttempts: 5 });
        const [m] = await a.queues.claim(q, 'c', lease);
        const released = Date.now();
        assert.equal(await a.queues.release(q, m!.id, m!.lease, 200), true);
        assert.deepEqual(await b.queues.counts(q), { ready: 0, delayed: 1, leased: 0, dead: 0 });
        const early = await claimNotBefore(b, released + 200);
        const [again] =
          early.length > 0 ? early : await b.queues.claim(q, 'c', { ...lease, waitMs: 5000 });
        const elapsed = Date.now() - released;
        assert.ok(elapsed >= 200 - EARLY_MS, `redelivered after ${elapsed} ms, released for 200`);
        assert.deepEqual([again?.id, again?.attempt], [m!.id, 2]);
        assert.equal(await b.queues.deadLetter(q, again!.id, again!.lease, 'manual'), true);
        const [dead] = await a.queues.deadLetters(q, 10);
        assert.deepEqual([dead?.id, dead?.reason, dead?.attempt], [m!.id, 'manual', 2]);
      });
    });
  });
}
