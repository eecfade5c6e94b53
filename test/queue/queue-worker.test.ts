import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { ClaimedMessage, QueueStore } from '../../src/backends/ports.js';
import { TimeoutError } from '../../src/errors/errors.js';
import {
  QueueWorker,
  type QueueWorkerOptions,
  type WorkerTask,
} from '../../src/queue/queue-worker.js';
import { NO_RETRY, type RetryPolicy } from '../../src/queue/retry-policy.js';
import { Deadlines } from '../../src/util/deadlines.js';
import { WorkTracker } from '../../src/util/work-tracker.js';
import { until } from '../conformance/harness.js';

const logger = pino({ level: 'silent' });
const enc = (n: number) => new Uint8Array([n]);

/** A promise with its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('queue worker', () => {
  let backend: MemoryBackend;
  let store: QueueStore;
  let deadlines: Deadlines;
  const workers: QueueWorker[] = [];

  beforeEach(async () => {
    backend = new MemoryBackend({ nodeId: 'w1' });
    await backend.start();
    store = backend.queues;
    deadlines = new Deadlines();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop(100)));
    deadlines.close();
    await backend.close();
  });

  type Run = (message: ClaimedMessage, signal: AbortSignal) => unknown;
  const start = (
    run: Run,
    options: Partial<QueueWorkerOptions> & { policy?: RetryPolicy; failures?: unknown[] } = {},
  ): QueueWorker => {
    const worker = new QueueWorker({
      store,
      queue: 'q',
      consumerId: `c${workers.length}`,
      logger,
      deadlines,
      concurrency: 1,
      prefetch: options.concurrency ?? 1,
      leaseMs: 5000,
      handlerTimeout: 5000,
      random: () => 0.5,
      prepare: (message): WorkerTask => ({
        policy: options.policy ?? NO_RETRY,
        run: (control) => run(message, control.signal),
        onFailure: (error) => options.failures?.push(error),
        timeoutError: (ms) => new TimeoutError(`over ${ms} ms`),
      }),
      ...options,
    });
    workers.push(worker);
    worker.start();
    return worker;
  };

  it('settles a deep buffer of synchronous handlers in order, without deepening the stack', async () => {
    const n = 20_000;
    await store.enqueueMany(
      'q',
      Array.from({ length: n }, (_, i) => ({ payload: enc(i % 256) })),
    );
    let calls = 0;
    const failures: unknown[] = [];
    const seen: number[] = [];
    start(
      (m) => {
        if (seen.length < 512) seen.push(m.payload[0]!);
        calls++;
      },
      { prefetch: n, failures },
    );
    await until(() => calls === n, 20_000, 'every message');
    assert.deepEqual(
      seen,
      Array.from({ length: 512 }, (_, i) => i % 256),
    );
    assert.deepEqual(failures, []);
    await until(async () => (await store.counts('q')).leased === 0, 5000, 'every ack');
  });

  it('runs one at a time in order at concurrency 1', async () => {
    for (let i = 0; i < 5; i++) await store.enqueue('q', enc(i));
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    start(async (m) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setImmediate(r));
      seen.push(m.payload[0]!);
      running--;
    });
    await until(() => seen.length === 5, 5000, 'five messages');
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.equal(most, 1);
    await until(async () => (await store.counts('q')).leased === 0, 5000, 'every ack');
  });

  it('runs `concurrency` handlers at once, and no more', async () => {
    for (let i = 0; i < 6; i++) await store.enqueue('q', enc(i));
    const release = gate();
    let running = 0;
    let most = 0;
    let done = 0;
    const worker = start(
      async () => {
        most = Math.max(most, ++running);
        await release.promise;
        running--;
        done++;
      },
      { concurrency: 3, prefetch: 3 },
    );
    await until(() => running === 3, 5000, 'three running');
    assert.equal(worker.inFlight, 3);
    release.open();
    await until(() => done === 6, 5000, 'all six');
    assert.equal(most, 3);
  });

  it('frees the slot of a handler past its timeout, reports TimeoutError and aborts its signal', async () => {
    await store.enqueue('q', enc(1));
    await store.enqueue('q', enc(2));
    const failures: unknown[] = [];
    const signals: AbortSignal[] = [];
    const seen: number[] = [];
    start(
      (m, signal) => {
        seen.push(m.payload[0]!);
        signals.push(signal);
        return m.payload[0] === 1 ? new Promise(() => {}) : undefined;
      },
      { handlerTimeout: 50, failures },
    );
    await until(() => seen.includes(2), 5000, 'the second message, after the stuck one timed out');
    assert.ok(failures[0] instanceof TimeoutError);
    assert.equal(signals[0]!.aborted, true);
    // No retry policy: the timed-out message is a dead letter with the timeout's message.
    await until(async () => (await store.counts('q')).dead === 1, 5000, 'the dead letter');
    assert.equal((await store.deadLetters('q', 10))[0]!.reason, 'over 50 ms');
  });

  it('retries per the policy, then dead-letters with the last error', async () => {
    await store.enqueue('q', enc(1));
    const attempts: number[] = [];
    start(
      (m) => {
        attempts.push(m.attempt);
        throw new Error(`failure ${m.attempt}`);
      },
      { policy: { maxRetries: 2, backoff: 'fixed', delay: 10, maxDelay: 10, jitter: false } },
    );
    await until(async () => (await store.counts('q')).dead === 1, 5000, 'the dead letter');
    assert.deepEqual(attempts, [1, 2, 3]);
    const [dead] = await store.deadLetters('q', 10);
    assert.equal(dead!.reason, 'failure 3');
    assert.equal(dead!.attempt, 3);
  });

  it('dead-letters what cannot be prepared, with the reason', async () => {
    await store.enqueue('q', enc(1));
    const worker = new QueueWorker({
      store,
      queue: 'q',
      consumerId: 'bad',
      logger,
      deadlines,
      concurrency: 1,
      prefetch: 1,
      leaseMs: 5000,
      handlerTimeout: 5000,
      prepare: () => 'undecodable: garbage',
    });
    workers.push(worker);
    worker.start();
    await until(async () => (await store.counts('q')).dead === 1, 5000, 'the dead letter');
    assert.equal((await store.deadLetters('q', 10))[0]!.reason, 'undecodable: garbage');
  });

  it('renews the lease while a long handler runs, so no one else gets the message', async () => {
    await store.enqueue('q', enc(1));
    const done = gate();
    let calls = 0;
    start(
      async () => {
        calls++;
        await done.promise;
      },
      { leaseMs: 60 },
    );
    await until(() => calls === 1, 5000, 'the delivery');
    // A competing claimer waits three leases: the message stays leased to the first worker.
    const stolen = await store.claim('q', 'thief', { count: 1, leaseMs: 1000, waitMs: 200 });
    assert.deepEqual(stolen, []);
    done.open();
    await until(async () => (await store.counts('q')).leased === 0, 5000, 'the ack');
    assert.equal(calls, 1);
  });

  it('stop(timeout) is bounded with a stuck handler, releases its message and counts it out', async () => {
    await store.enqueue('q', enc(1));
    const tracker = new WorkTracker();
    let signal: AbortSignal | undefined;
    const worker = start(
      (_m, s) => {
        signal = s;
        return new Promise(() => {});
      },
      { tracker },
    );
    await until(() => signal !== undefined, 5000, 'the delivery');
    assert.equal(tracker.inFlight, 1);
    const started = Date.now();
    await worker.stop(100);
    const took = Date.now() - started;
    assert.ok(took < 1000, `stop took ${took} ms`);
    assert.equal(signal!.aborted, true);
    assert.equal(tracker.inFlight, 0);
    assert.equal(worker.inFlight, 0);
    // Released: claimable at once by another consumer, as its next delivery.
    const [again] = await store.claim('q', 'next', { count: 1, leaseMs: 1000, waitMs: 1000 });
    assert.equal(again?.attempt, 2);
  });

  it('a handler that gives up when its signal aborts at stop gives the message back, not failed', async () => {
    await store.enqueue('q', enc(1));
    const failures: unknown[] = [];
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = start(
      (_m, signal) =>
        new Promise((_resolve, reject) => {
          started();
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        }),
      { failures, policy: NO_RETRY },
    );
    await running;
    const t0 = Date.now();
    await worker.stop(5000);
    assert.ok(Date.now() - t0 < 1000, 'the stop did not wait for its bound');
    assert.deepEqual(failures, []);
    const counts = await store.counts('q');
    assert.deepEqual([counts.ready, counts.dead], [1, 0]);
  });

  it('a handler that resolves after its timeout settles nothing (its delivery was given up)', async () => {
    await store.enqueue('q', enc(1));
    const late = gate();
    const attempts: number[] = [];
    let lateExtend: Promise<boolean> | undefined;
    const worker = new QueueWorker({
      store,
      queue: 'q',
      consumerId: 'late',
      logger,
      deadlines,
      concurrency: 2,
      prefetch: 2,
      leaseMs: 5000,
      handlerTimeout: 50,
      prepare: (m): WorkerTask => ({
        policy: { maxRetries: 3, backoff: 'fixed', delay: 0, maxDelay: 0, jitter: false },
        run: async (control) => {
          attempts.push(m.attempt);
          if (m.attempt === 1) {
            await late.promise;
            lateExtend = control.extendLease();
            return;
          }
          return new Promise(() => {}); // attempt 2 holds the message
        },
        onFailure: () => {},
        timeoutError: () => new TimeoutError('late'),
      }),
    });
    workers.push(worker);
    worker.start();
    await until(() => attempts.length === 2, 5000, 'the redelivery');
    late.open();
    await until(() => lateExtend !== undefined, 5000, 'the late handler');
    assert.equal(await lateExtend, false);
    // Later attempts hold it (or it is dead by now): the late success acknowledged nothing.
    const counts = await store.counts('q');
    assert.equal(counts.ready + counts.leased + counts.delayed + counts.dead, 1);
  });
});
