/**
 * Redis frozen with SIGSTOP while a host keeps sending and receiving: sends settle with a typed
 * error by `operationTimeout`, the sender's memory stays bounded, and after SIGCONT the queue
 * resumes by itself with no acknowledged send lost. Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Deliveries,
  errorSummary,
  figure,
  heapAfterGc,
  mib,
  missing,
  newOutcome,
  sendLoop,
  sendOne,
  startQueueHost,
  uniqueNamespace,
  until,
  useQueueServer,
  type Numbered,
} from './support.js';

const OPERATION_TIMEOUT = 800;
/** Scheduling slack on a loaded machine; the bound checked is "settled", not "fast". */
const SLACK = 2000;
const FREEZE_MS = 6000;
const PARALLEL = 200;
const PAYLOAD_KIB = 8;
const PAD = 'x'.repeat(PAYLOAD_KIB * 1024);
/** The Redis backend's byte budget for outgoing data held unanswered (`maxPendingBytes`). */
const BUDGET = 1024 * 1024;
/** Heap besides the held bytes: pending promises, timers, the sampler's own garbage. */
const HEAP_SLACK = 4 * 1024 * 1024;
const QUEUE = 'frozen.jobs';
const IDEMPOTENT = 20;

describe('message queue while Redis is frozen (SIGSTOP)', { timeout: 120_000 }, () => {
  const fx = useQueueServer(
    'mq-freeze',
    { operationTimeout: OPERATION_TIMEOUT, maxPendingBytes: BUDGET },
    { limits: { maxPayloadBytes: 64 * 1024 } }, // the budget must hold one largest message
  );

  it('refuses sends with typed errors in bounded time and memory, then resumes by itself', async (t) => {
    const { mq } = fx.node;
    const deliveries = new Deliveries();
    const consumer = mq.receive<Numbered>(QUEUE, (m) => deliveries.add(m.data.seq), {
      concurrency: 8,
      leaseMs: 2000,
    });

    const before = newOutcome();
    await sendLoop(mq, QUEUE, before, { parallel: 8, firstSeq: 0, more: (seq) => seq < 200 });
    assert.equal(before.acked.size, 200);
    await until(
      () => missing(before.acked, deliveries.seen).length === 0,
      20_000,
      'flowing before the freeze',
    );

    const heapBefore = heapAfterGc();
    fx.server.pause();
    const frozenAt = Date.now();
    const during = newOutcome();
    let peakHeap = 0;
    const sampler = setInterval(
      () => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)),
      50,
    );
    // PARALLEL loops of 8 KiB sends for the whole freeze, each trying again once refused.
    const sending = sendLoop(mq, QUEUE, during, {
      parallel: PARALLEL,
      firstSeq: 1_000_000, // above every other number, however many sends are refused
      more: () => Date.now() - frozenAt < FREEZE_MS,
      pad: PAD,
    });
    // Sends with an idempotency key, refused too: retried after the thaw, each must be stored once.
    const keyed = Array.from({ length: IDEMPOTENT }, (_, n) => 30_000 + n);
    const keyedFirst = await Promise.allSettled(
      keyed.map((seq) => mq.send<Numbered>(QUEUE, { seq }, { id: `idem-${seq}` })),
    );
    await sending;
    const heapFrozen = heapAfterGc();
    clearInterval(sampler);
    fx.server.resume();
    const resumedAt = Date.now();

    figure(t, 'frozen for', resumedAt - frozenAt, 'ms');
    figure(
      t,
      'sends tried during the freeze',
      during.acked.size + during.failed.size,
      `(${PARALLEL} at a time, ${PAYLOAD_KIB} KiB each)`,
    );
    figure(t, 'sends refused during the freeze', during.failed.size, `(${errorSummary(during)})`);
    figure(
      t,
      'slowest send to settle during the freeze',
      during.slowestMs,
      `ms (operationTimeout ${OPERATION_TIMEOUT})`,
    );
    const held = heapFrozen - heapBefore;
    figure(
      t,
      'heap held at the end of the freeze (after GC)',
      mib(held),
      `MiB (maxPendingBytes ${mib(BUDGET)} MiB)`,
    );
    figure(t, 'peak heap during the freeze', mib(peakHeap - heapBefore), 'MiB above the start');
    // Refused at once past the byte budget (BackpressureError) is as typed as a timeout.
    const typed = ['PB_TIMEOUT', 'PB_BACKEND_UNAVAILABLE', 'PB_BACKPRESSURE'];
    for (const code of during.errors.keys())
      assert.ok(typed.includes(code), `typed error: ${code}`);
    assert.ok(during.failed.size > 0, 'sends during the freeze were refused');
    assert.ok(
      during.slowestMs <= OPERATION_TIMEOUT + SLACK,
      `settled after ${during.slowestMs} ms`,
    );
    await t.test(
      'the bytes of refused sends held while Redis is frozen stay within maxPendingBytes',
      () => assert.ok(held < BUDGET + HEAP_SLACK, `held ${mib(held)} MiB`),
    );

    // After SIGCONT: new sends are acknowledged and processed without anyone restarting anything.
    const afterThaw = newOutcome();
    let seq = 20_000;
    await until(
      () => sendOne(mq, QUEUE, seq++, afterThaw),
      20_000,
      'a send acknowledged after SIGCONT',
    );
    figure(t, 'first send acknowledged', Date.now() - resumedAt, 'ms after SIGCONT');
    await sendLoop(mq, QUEUE, afterThaw, {
      parallel: 8,
      firstSeq: seq,
      more: (n) => n < seq + 200,
    });
    await Promise.all(keyed.map((seq) => mq.send<Numbered>(QUEUE, { seq }, { id: `idem-${seq}` })));
    const acked = [...before.acked, ...during.acked, ...afterThaw.acked, ...keyed];
    await until(
      () => missing(acked, deliveries.seen).length === 0,
      30_000,
      'every acknowledged send processed',
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${missing(acked, deliveries.seen).length} missing`);
    });
    figure(t, 'every acknowledged send processed', Date.now() - resumedAt, 'ms after SIGCONT');
    figure(
      t,
      'acknowledged sends lost',
      missing(acked, deliveries.seen).length,
      `of ${acked.length}`,
    );
    await until(
      async () => {
        const stats = await mq.stats(QUEUE);
        return stats.waiting + stats.delayed + stats.inFlight === 0;
      },
      30_000,
      'the queue drained',
    );
    // A send written before its caller gave up may still run when Redis thaws (outcome unknown).
    figure(
      t,
      'refused sends processed anyway (they ran when Redis thawed)',
      [...during.failed].filter((s) => deliveries.has(s)).length,
    );
    const keyedTwice = keyed.filter((seq) => (deliveries.counts.get(seq) ?? 0) > 1).length;
    figure(
      t,
      'sends with an idempotency key: refused during the freeze, sent again after it',
      `${keyedFirst.filter((r) => r.status === 'rejected').length} of ${IDEMPOTENT} refused; ${keyed.filter((seq) => deliveries.has(seq)).length} processed, ${keyedTwice} twice`,
    );
    assert.equal(keyedTwice, 0, 'an idempotency key makes retrying a refused send safe');
    await consumer.stop();
    assert.equal(consumer.inFlight, 0);
  });

  it('stops a host with a handler in flight in bounded time while Redis is frozen', async (t) => {
    const stopTimeout = 5000;
    const doomed = await startQueueHost(
      {
        redis: fx.server.url,
        namespace: uniqueNamespace('mq-freeze-stop'),
        operationTimeout: OPERATION_TIMEOUT,
      },
      'freeze-stopper',
      { stopTimeout, deactivateTimeout: 1000 },
    );
    let started = false;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    doomed.mq.receive(QUEUE + '.stop', () => ((started = true), held), { leaseMs: 2000 });
    await doomed.mq.send(QUEUE + '.stop', { seq: 1 });
    await until(() => started, 20_000, 'the handler to start');
    fx.server.pause();
    try {
      const began = Date.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        doomed.host.stop(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('host.stop() did not end')),
            stopTimeout + SLACK,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      figure(
        t,
        'host.stop() with a handler in flight, Redis frozen, ended after',
        Date.now() - began,
        `ms (stopTimeout ${stopTimeout}, deactivateTimeout 1000)`,
      );
      assert.equal(doomed.host.health().status, 'stopped');
    } finally {
      release();
      fx.server.resume();
    }
  });
});
