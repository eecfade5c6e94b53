/**
 * A poison message that kills every process that receives it (SIGKILL inside the handler, so no
 * handler error, no retry policy, no ack): the store counts its deliveries itself, and once
 * `maxDeliveries` receivers have died with it, the claim script dead-letters it instead of
 * delivering it again, so the next receiver lives and the rest of the queue flows. Runs on a
 * throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { figure, startQueueHost, uniqueNamespace, until, type QueueHost } from './support.js';
import { QueueProcess, Tally } from './queue-process.js';

const MAX_DELIVERIES = 3;
const GOOD = 20;
const POISON = 0;

describe('message queue: a poison message whose receivers keep dying', { timeout: 150_000 }, () => {
  let server: RedisServer;
  let raw: Redis;
  let sender: QueueHost;
  const namespace = uniqueNamespace('mq-poison');
  const nodes: QueueProcess[] = [];

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
    sender = await startQueueHost({ redis: server.url, namespace }, 'poison-sender');
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await sender?.host.stop();
    raw?.disconnect();
    await server?.stop();
  });

  it(`dead-letters it after ${MAX_DELIVERIES} deliveries, and the next receiver lives`, async (t) => {
    const queue = 'jobs.poison';
    const tally = new Tally(raw, queue);
    const poisonId = await sender.mq.send(
      queue,
      { seq: POISON },
      { maxDeliveries: MAX_DELIVERIES },
    );
    for (let seq = 1; seq <= GOOD; seq++) await sender.mq.send(queue, { seq });

    // One receiver at a time; each one that dies is replaced, up to twice as many as needed.
    let deaths = 0;
    let survivor: QueueProcess | undefined;
    for (let i = 0; survivor === undefined && i < 2 * MAX_DELIVERIES; i++) {
      const node = await QueueProcess.start({ redisUrl: server.url, namespace, nodeId: `r${i}` });
      nodes.push(node);
      let died = false;
      void node.gone.then(() => (died = true));
      await node
        .run({
          cmd: 'receive',
          queue,
          tally: queue,
          leaseMs: 500,
          concurrency: 1,
          handlerMs: 0,
          crashOn: POISON,
        })
        .catch(() => undefined); // it may die before it answers
      await until(
        // Finished: every good message processed and the poison one gone to the dead letters.
        async () =>
          died || ((await tally.distinct()) === GOOD && (await sender.mq.stats(queue)).dead === 1),
        30_000,
        `receiver r${i} to die or finish`,
      );
      if (died) deaths++;
      else survivor = node;
    }

    const [dead] = await sender.mq.deadLetters<{ seq: number }>(queue);
    figure(
      t,
      'receivers killed by the poison message',
      deaths,
      `(maxDeliveries ${MAX_DELIVERIES})`,
    );
    figure(t, 'good messages processed', await tally.distinct(), `of ${GOOD}`);
    figure(
      t,
      'poison message dead-lettered',
      dead ? `attempt ${dead.attempt}, reason “${dead.reason}”` : 'no',
    );
    assert.ok(survivor !== undefined, 'a receiver finally lives');
    assert.equal(deaths, MAX_DELIVERIES, 'delivered exactly maxDeliveries times');
    assert.equal(dead?.id, poisonId);
    assert.deepEqual(dead?.data, { seq: POISON });
    assert.equal(await tally.distinct(), GOOD, 'every good message processed');
  });
});
