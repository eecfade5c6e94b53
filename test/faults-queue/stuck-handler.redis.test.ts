/**
 * A handler that never resolves: at its `timeout` it counts as failed, its slot is freed and its
 * `signal` aborted, and the message follows its retry policy (redelivered, or dead-lettered when
 * it has none). `consumer.stop()` and `host.stop()` end in bounded time with such a handler in
 * flight, and the message it held is delivered again. Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueueMessage } from '../../src/queue/message-types.js';
import { figure, startQueueHost, until, useQueueServer, type Numbered } from './support.js';

const TIMEOUT = 600;
/** Bounds on a loaded machine; what is checked is "ends", not "ends quickly". */
const BOUND = 10_000;
const never = (): Promise<never> => new Promise<never>(() => undefined);

/** What a handler saw: when each delivery started and when its signal was aborted. */
interface Seen {
  seq: number;
  attempt: number;
  startedAt: number;
  abortedAt?: number;
}

function watch(seen: Seen[], message: QueueMessage<Numbered>): Seen {
  const entry: Seen = { seq: message.data.seq, attempt: message.attempt, startedAt: Date.now() };
  message.signal.addEventListener('abort', () => (entry.abortedAt = Date.now()), { once: true });
  seen.push(entry);
  return entry;
}

/** Resolve with how long `promise` took, or reject if it took longer than `ms`. */
async function endsWithin(promise: Promise<unknown>, ms: number, what: string): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise(
      (_, reject) =>
        (timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
  return Date.now() - started;
}

describe('message queue: a handler that never resolves', { timeout: 120_000 }, () => {
  const fx = useQueueServer('mq-stuck', { operationTimeout: 2000 });

  it('frees the slot at the timeout, aborts the signal and redelivers per the retry policy', async (t) => {
    const { mq } = fx.node;
    const queue = 'stuck.retry';
    const seen: Seen[] = [];
    await mq.sendWithRetry<Numbered>(
      queue,
      { seq: 1 },
      { maxRetries: 2, backoff: 'fixed', delay: 10, jitter: false },
    );
    await mq.send<Numbered>(queue, { seq: 2 });
    // One slot: seq 2 can only start once the stuck delivery's slot is freed.
    const consumer = mq.receive<Numbered>(
      queue,
      (m) => (watch(seen, m).seq === 1 && m.attempt === 1 ? never() : undefined),
      { concurrency: 1, leaseMs: 300, timeout: TIMEOUT },
    );
    await until(
      () => seen.some((s) => s.seq === 1 && s.attempt === 2) && seen.some((s) => s.seq === 2),
      BOUND,
      'redelivery and the next message',
    );
    const stuck = seen.find((s) => s.seq === 1 && s.attempt === 1)!;
    const redelivery = seen.find((s) => s.seq === 1 && s.attempt === 2)!;
    const next = seen.find((s) => s.seq === 2)!;
    assert.ok(stuck.abortedAt !== undefined, 'the stuck handler’s signal was aborted');
    assert.ok(next.startedAt >= stuck.abortedAt, 'the slot was freed at the timeout, not before');
    assert.ok(
      redelivery.startedAt >= stuck.abortedAt,
      'redelivered after the timeout, not while renewed',
    );
    assert.equal(
      seen.filter((s) => s.seq === 1).length,
      2,
      'delivered twice in all (leases renewed meanwhile)',
    );
    figure(
      t,
      'stuck handler’s signal aborted',
      stuck.abortedAt - stuck.startedAt,
      `ms after it started (timeout ${TIMEOUT})`,
    );
    figure(
      t,
      'next message started in the freed slot',
      next.startedAt - stuck.startedAt,
      'ms after the stuck one',
    );
    figure(
      t,
      'stuck message redelivered (attempt 2)',
      redelivery.startedAt - stuck.startedAt,
      'ms after attempt 1 started',
    );
    await consumer.stop();
  });

  it('dead-letters a stuck message that has no retry policy, with the timeout as reason', async (t) => {
    const { mq } = fx.node;
    const queue = 'stuck.plain';
    const id = await mq.send<Numbered>(queue, { seq: 1 });
    const consumer = mq.receive<Numbered>(queue, never, {
      concurrency: 1,
      leaseMs: 300,
      timeout: TIMEOUT,
    });
    await until(
      async () => (await mq.stats(queue)).dead === 1,
      BOUND,
      'the stuck message dead-lettered',
    );
    await consumer.stop();
    const [dead] = await mq.deadLetters<Numbered>(queue);
    assert.equal(dead?.id, id);
    assert.equal(dead?.attempt, 1);
    figure(t, 'stuck message without retries dead-lettered with reason', `“${dead?.reason}”`);
  });

  it('ends consumer.stop() in bounded time with the handler still stuck, and the message is delivered again', async (t) => {
    const { mq } = fx.node;
    const queue = 'stuck.stop';
    const seen: Seen[] = [];
    await mq.send<Numbered>(queue, { seq: 1 });
    const first = mq.receive<Numbered>(queue, (m) => (watch(seen, m), never()), {
      leaseMs: 300,
      timeout: 60_000,
    });
    await until(() => seen.length === 1, BOUND, 'the handler to start');
    const tookMs = await endsWithin(first.stop(500), BOUND, 'consumer.stop(500)');
    assert.equal(first.inFlight, 0, 'the stopped consumer holds nothing');
    assert.ok(seen[0]!.abortedAt !== undefined, 'the stuck handler was told to stop');
    figure(t, 'consumer.stop(500) with a stuck handler ended after', tookMs, 'ms');

    const second = mq.receive<Numbered>(queue, (m) => void watch(seen, m), { leaseMs: 300 });
    await until(() => seen.length === 2, BOUND, 'the message delivered again');
    figure(
      t,
      'released message delivered again',
      seen[1]!.startedAt - seen[0]!.startedAt,
      `ms after the first delivery (attempt ${seen[1]!.attempt})`,
    );
    await second.stop();
  });

  it('ends host.stop() in bounded time with a stuck handler in flight', async (t) => {
    const doomed = await startQueueHost(
      { redis: fx.server.url, namespace: fx.namespace, operationTimeout: 2000 },
      'stuck-b',
      {
        deactivateTimeout: 1000,
        stopTimeout: 5000,
      },
    );
    const queue = 'stuck.host';
    const seen: Seen[] = [];
    await doomed.mq.send<Numbered>(queue, { seq: 1 });
    doomed.mq.receive<Numbered>(queue, (m) => (watch(seen, m), never()), {
      leaseMs: 300,
      timeout: 60_000,
    });
    await until(() => seen.length === 1, BOUND, 'the handler to start');
    const tookMs = await endsWithin(doomed.host.stop(), BOUND, 'host.stop()');
    figure(
      t,
      'host.stop() with a stuck handler ended after',
      tookMs,
      'ms (deactivateTimeout 1000, stopTimeout 5000)',
    );
    assert.ok(seen[0]!.abortedAt !== undefined, 'the stuck handler was told to stop');

    // The message is not lost with the stopped host: another host gets it.
    const after: Seen[] = [];
    const consumer = fx.node.mq.receive<Numbered>(queue, (m) => void watch(after, m), {
      leaseMs: 300,
    });
    await until(() => after.length === 1, BOUND, 'the message delivered on the other host');
    figure(t, 'message held by the stopped host delivered again', `attempt ${after[0]!.attempt}`);
    await consumer.stop();
  });
});
