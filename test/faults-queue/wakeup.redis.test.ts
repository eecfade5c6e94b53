/**
 * An idle consumer whose wake-up is lost: Redis restarted without persistence, or its
 * subscriber connection cut. Nothing is lost, and the first message sent afterwards is
 * processed. How long that takes is the question: an idle claim waits for a wake-up published
 * by enqueues (only while the queue's "someone waits" mark exists) on a pub/sub channel, and
 * the mark died with the Redis, or the wake-up with the cut connection. Runs on a throwaway
 * redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeys } from '../../src/backends/redis/keys.js';
import { figure, hold, until, useQueueServer, type Numbered } from './support.js';

/**
 * How long the queue worker's idle claim waits before it asks again (CLAIM_WAIT_MS in
 * src/queue/queue-worker.ts); a consumer that was not woken sees the message only then.
 */
const IDLE_CLAIM_MS = 5000;

describe('message queue: an idle consumer whose wake-up is lost', () => {
  const fx = useQueueServer('mq-wake', { operationTimeout: 1000 });

  /**
   * A consumer of `queue` that processed one message and now waits, idle, for a wake-up (its
   * queue marked as waited on). `processedAt` maps each seq to when it was processed.
   */
  const idleConsumer = async (queue: string) => {
    const processedAt = new Map<number, number>();
    const consumer = fx.node.mq.receive<Numbered>(
      queue,
      (m) => void processedAt.set(m.data.seq, Date.now()),
    );
    await fx.node.mq.send<Numbered>(queue, { seq: 1 });
    await until(() => processedAt.has(1), 20_000, 'the first message');
    const wake = createKeys(fx.namespace).queue(`mq:${queue}`).wake;
    await until(async () => (await fx.raw.exists(wake)) === 1, 20_000, 'the consumer waiting');
    // The mark may still be the one of the wait that the first message ended: give the worker's
    // next claim (issued as soon as the handler returned) time to run and renew it.
    await hold(200);
    return { consumer, processedAt };
  };

  it('Redis restarted without persistence: a message sent after the restart is processed', async (t) => {
    const { mq } = fx.node;
    const queue = 'idle.jobs';
    const { consumer, processedAt } = await idleConsumer(queue);
    await fx.server.restart();
    const restartedAt = Date.now();
    let sentAt = 0;
    await until(
      () =>
        mq.send<Numbered>(queue, { seq: 2 }).then(
          () => ((sentAt = Date.now()), true),
          () => false,
        ),
      20_000,
      'a send accepted after the restart',
    );
    await until(() => processedAt.has(2), 20_000, 'the message sent after the restart');
    const latency = processedAt.get(2)! - sentAt;
    figure(t, 'send accepted after the restart', sentAt - restartedAt, 'ms');
    figure(
      t,
      'message sent after the restart processed',
      latency,
      `ms after it was sent (an idle claim asks again every ${IDLE_CLAIM_MS} ms)`,
    );
    await t.test('the waiting consumer is woken by the first send after the restart', () =>
      assert.ok(latency < IDLE_CLAIM_MS / 2, `processed ${latency} ms after the send`),
    );
    await consumer.stop();
  });

  it('subscriber connection cut: a message sent meanwhile is processed', async (t) => {
    const { mq } = fx.node;
    const queue = 'idle.cut';
    const { consumer, processedAt } = await idleConsumer(queue);
    // Redis closes the node's subscriber connection (as for `client-output-buffer-limit pubsub`).
    const cut = Number(await fx.raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
    await mq.send<Numbered>(queue, { seq: 2 });
    const sentAt = Date.now();
    await until(() => processedAt.has(2), 20_000, 'the message sent during the cut');
    const latency = processedAt.get(2)! - sentAt;
    figure(
      t,
      'message sent while the subscriber reconnected processed',
      latency,
      `ms after it was sent (${cut} subscriber connection cut; an idle claim asks again every ${IDLE_CLAIM_MS} ms)`,
    );
    await t.test('the waiting consumer is woken once its subscriber is back', () =>
      assert.ok(latency < IDLE_CLAIM_MS / 2, `processed ${latency} ms after the send`),
    );
    await consumer.stop();
  });
});
