/**
 * A receiver process is killed with SIGKILL while it holds messages (in its handlers and
 * prefetched): once their leases lapse they are delivered to the surviving receiver, so every
 * acknowledged send is processed at least once. Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { figure, uniqueNamespace, until } from './support.js';
import { lossAndDuplicates, QueueProcess, Tally } from './queue-process.js';

const MESSAGES = 3000;
const LEASE_MS = 1500;

describe('message queue: a receiver process killed with SIGKILL', { timeout: 150_000 }, () => {
  let server: RedisServer;
  let raw: Redis;
  const nodes: QueueProcess[] = [];

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    raw?.disconnect();
    await server?.stop();
  });

  it('loses no acknowledged send: the dead receiver’s messages are redelivered to the survivor', async (t) => {
    const tally = new Tally(raw, 'kill1');
    const where = { redisUrl: server.url, namespace: uniqueNamespace('mq-kill') };
    const queue = 'jobs.kill';
    const [doomed, survivor] = await Promise.all([
      QueueProcess.start({ ...where, nodeId: 'doomed' }),
      QueueProcess.start({ ...where, nodeId: 'survivor' }),
    ]);
    nodes.push(doomed, survivor);
    const receive = {
      cmd: 'receive',
      queue,
      tally: tally.name,
      leaseMs: LEASE_MS,
      concurrency: 8,
      handlerMs: 20,
    } as const;
    await Promise.all([doomed.run(receive), survivor.run(receive)]);

    // The survivor sends (parallel 8) while both receive; the backlog keeps both busy.
    const sending = survivor.run<number>(
      { cmd: 'send', queue, from: 0, count: MESSAGES, parallel: 8 },
      120_000,
    );
    await until(
      async () => (await tally.by('doomed')) >= 300,
      60_000,
      'the doomed receiver at work',
    );
    await doomed.kill();
    const killedAt = Date.now();
    const doneByDoomed = await tally.by('doomed');

    assert.equal(await sending, MESSAGES, 'every send acknowledged');
    await until(
      async () => (await tally.distinct()) === MESSAGES,
      60_000,
      'every message processed',
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await tally.distinct()} of ${MESSAGES}`);
    });
    const allDoneAfter = Date.now() - killedAt;
    await survivor.stop(); // graceful: its last acks land, nothing more is delivered

    const { lost, duplicates } = lossAndDuplicates(await tally.counts(), MESSAGES);
    const redelivered = await tally.redelivered();
    figure(t, 'acknowledged sends', MESSAGES);
    figure(t, 'processed by the doomed receiver before the kill', doneByDoomed);
    figure(t, 'processed by the survivor', await tally.by('survivor'));
    figure(t, 'redelivered after the kill (processed on attempt > 1)', redelivered);
    figure(t, 'every message processed', allDoneAfter, `ms after the kill (leaseMs ${LEASE_MS})`);
    figure(t, 'lost', lost);
    figure(t, 'processed twice or more (duplicates)', duplicates);
    assert.equal(lost, 0, 'every acknowledged send processed at least once');
    assert.ok(redelivered > 0, 'the killed receiver held messages that were redelivered');
  });
});
