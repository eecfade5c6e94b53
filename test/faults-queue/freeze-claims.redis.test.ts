/**
 * Redis frozen (SIGSTOP) longer than an idle consumer's claim wait: the consumer's claims are
 * written to the frozen server and time out, but Redis runs them when it thaws. A claim that
 * runs after its caller gave up leases messages to nobody; they are processed only once that
 * lease lapses. Nothing is lost; the question is how late. Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  figure,
  hold,
  newOutcome,
  sendLoop,
  until,
  useQueueServer,
  type Numbered,
} from './support.js';

const OPERATION_TIMEOUT = 800;
/** Longer than the queue worker's idle claim wait (5 s), so claims are written while frozen. */
const FREEZE_MS = 8000;
const LEASE_MS = 10_000;
const QUEUE = 'frozen.claims';

describe('message queue: claims written while Redis is frozen', { timeout: 120_000 }, () => {
  const fx = useQueueServer('mq-freeze-claims', { operationTimeout: OPERATION_TIMEOUT });

  it('processes every message sent during the freeze; counts those leased by a late claim', async (t) => {
    const { mq } = fx.node;
    const processed = new Map<number, { at: number; attempt: number }>();
    const consumer = mq.receive<Numbered>(
      QUEUE,
      (m) => void processed.set(m.data.seq, { at: Date.now(), attempt: m.attempt }),
      { concurrency: 4, leaseMs: LEASE_MS },
    );
    await mq.send<Numbered>(QUEUE, { seq: -1 });
    await until(() => processed.has(-1), 20_000, 'the consumer at work');

    fx.server.pause();
    const frozenAt = Date.now();
    const during = newOutcome();
    await sendLoop(mq, QUEUE, during, {
      parallel: 20,
      firstSeq: 0,
      more: () => Date.now() - frozenAt < FREEZE_MS,
    });
    await hold(Math.max(0, FREEZE_MS - (Date.now() - frozenAt))); // the fault lasts FREEZE_MS
    fx.server.resume();
    const thawedAt = Date.now();

    // Sends written before the thaw ran then, refused or not: wait until the queue is empty.
    await until(
      async () => {
        const stats = await mq.stats(QUEUE);
        return stats.waiting + stats.delayed + stats.inFlight === 0 && consumer.inFlight === 0;
      },
      LEASE_MS + 30_000,
      'the queue drained',
    );
    const sent = [...during.acked, ...during.failed].filter((s) => processed.has(s));
    assert.deepEqual(
      [...during.acked].filter((s) => !processed.has(s)),
      [],
      'every acknowledged send processed',
    );
    const lateClaimed = sent.filter((s) => processed.get(s)!.attempt > 1);
    const lastAt = Math.max(...sent.map((s) => processed.get(s)!.at));
    figure(
      t,
      'sends during the freeze',
      during.acked.size + during.failed.size,
      `(${during.failed.size} refused; ${sent.length} ran at the thaw and were processed)`,
    );
    figure(
      t,
      'all of them processed',
      lastAt - thawedAt,
      `ms after the thaw (leaseMs ${LEASE_MS})`,
    );
    figure(
      t,
      'leased by a claim that ran after its caller gave up (processed on attempt 2)',
      lateClaimed.length,
    );
    await t.test('no message waits for the lease of a claim nobody is waiting for', () =>
      assert.deepEqual(lateClaimed, []),
    );
    await consumer.stop();
  });
});
