import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import { bytes, text, until, type BackendHarness, type HarnessFactory } from './harness.js';

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

    it('tells every node of binding transitions, once each', async () => {
      const seen: string[] = [];
      const watch = await b.queues.watchBindings((c) => {
        if (c.queue.startsWith(q)) seen.push(`${c.type} ${c.queue} ${c.pattern}`);
      });
      await a.queues.bind(`${q}.w`, 'order.*');
      await a.queues.bind(`${q}.w`, 'order.*'); // no transition: nothing to tell
      await b.queues.bind(`${q}.w`, 'user.**');
      await a.queues.unbind(`${q}.w`, 'order.*');
      await a.queues.unbind(`${q}.w`, 'order.*');
      // A marker change last: once it arrives, any duplicate of the earlier ones would have too.
      await a.queues.bind(`${q}.w`, 'marker');
      const expected = [
        `bind ${q}.w order.*`,
        `bind ${q}.w user.**`,
        `unbind ${q}.w order.*`,
        `bind ${q}.w marker`,
      ];
      await until(() => seen.includes(`bind ${q}.w marker`), 3000, 'the marker binding');
      assert.deepEqual(seen, expected);
      // Closed: a second, open watch hears the next change, the closed one does not.
      const later: string[] = [];
      const open = await b.queues.watchBindings((c) => later.push(`${c.type} ${c.pattern}`));
      await watch.close();
      await b.queues.bind(`${q}.w`, 'after.close');
      await until(() => later.includes('bind after.close'), 3000, 'the open watch');
      await open.close();
      assert.equal(seen.length, expected.length, 'a closed watch hears nothing');
    });

    it('lists, retries, removes and purges dead letters', async () => {
      for (const n of ['d1', 'd2', 'd3']) await a.queues.enqueue(q, bytes(n));
      const claimed = await a.queues.claim(q, 'c', lease);
      for (const m of claimed)
        assert.equal(await a.queues.deadLetter(q, m.id, m.lease, `bad ${text(m.payload)}`), true);
      const dead = await b.queues.deadLetters(q, 10);
      assert.deepEqual(
        dead.map((d) => [text(d.payload), d.reason, d.attempt]),
        [
          ['d1', 'bad d1', 1],
          ['d2', 'bad d2', 1],
          ['d3', 'bad d3', 1],
        ],
      );
      assert.ok(dead.every((d) => d.deadAt >= d.enqueuedAt && d.enqueuedAt > 0));
      assert.equal((await b.queues.deadLetters(q, 1)).length, 1);
      // retry: claimable again at once, with its attempts counted on
      assert.equal(await b.queues.retryDeadLetter(q, dead[0]!.id), true);
      assert.equal(await b.queues.retryDeadLetter(q, dead[0]!.id), false);
      const [again] = await a.queues.claim(q, 'c', lease);
      assert.deepEqual([text(again!.payload), again!.attempt], ['d1', 2]);
      assert.equal(await a.queues.ack(q, again!.id, again!.lease), true);
      // remove one, purge the rest
      assert.equal(await b.queues.removeDeadLetter(q, dead[1]!.id), true);
      assert.equal(await b.queues.removeDeadLetter(q, dead[1]!.id), false);
      assert.equal(await b.queues.purgeDeadLetters(q), 1);
      assert.deepEqual(await b.queues.deadLetters(q, 10), []);
      assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
    });

    it('lists queues and deletes one with its bindings and messages', async () => {
      const gone = `${q}.gone`;
      const kept = `${q}.kept`;
      await a.queues.bind(gone, 'x.*');
      await a.queues.bind(gone, 'y.**');
      await a.queues.bind(kept, 'x.*');
      await a.queues.enqueue(gone, bytes('1'));
      await a.queues.enqueue(gone, bytes('2'));
      const [m] = await a.queues.claim(gone, 'c', { ...lease, count: 1 });
      await a.queues.deadLetter(gone, m!.id, m!.lease, 'why');
      await a.queues.enqueue(q, bytes('unbound'));
      const names = (await b.queues.queueNames()).filter((n) => n.startsWith(q)).sort();
      assert.deepEqual(names, [q, gone, kept].sort());
      const changes: string[] = [];
      const watch = await b.queues.watchBindings((c) => {
        if (c.queue.startsWith(q)) changes.push(`${c.type} ${c.queue} ${c.pattern}`);
      });
      await b.queues.deleteQueue(gone);
      assert.deepEqual(await a.queues.counts(gone), { ready: 0, delayed: 0, leased: 0, dead: 0 });
      assert.deepEqual(
        (await a.queues.bindings()).filter((x) => x.queue.startsWith(q)),
        [{ queue: kept, pattern: 'x.*' }],
      );
      assert.deepEqual(
        (await a.queues.queueNames()).filter((n) => n.startsWith(q)).sort(),
        [q, kept].sort(),
      );
      await until(() => changes.length === 2, 3000, 'two unbind changes');
      assert.deepEqual(changes.sort(), [`unbind ${gone} x.*`, `unbind ${gone} y.**`]);
      await watch.close();
      await a.queues.unbind(kept, 'x.*');
    });
  });
}
