/**
 * Ten host processes compete for one queue. With nobody killed, each of 50,000 messages is
 * processed exactly once; then, on a second queue of 50,000, three of the ten are killed mid-run
 * (SIGKILL): none is lost and the duplicates (at-least-once) are counted. The same ten processes
 * serve both tests (starting them is most of the cost). Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { createKeys } from '../../src/backends/redis/keys.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { figure, uniqueNamespace, until } from './support.js';
import { lossAndDuplicates, QueueProcess, Tally } from './queue-process.js';

const PROCESSES = 10;

describe('message queue: 10 processes competing for one queue', { timeout: 170_000 }, () => {
  let server: RedisServer;
  let raw: Redis;
  let nodes: QueueProcess[] = [];
  let startedIn = 0;
  const namespace = uniqueNamespace('mq-compete');

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
    const where = { redisUrl: server.url, namespace };
    const started = Date.now();
    nodes = await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) =>
        QueueProcess.start({ ...where, nodeId: `w${i}` }),
      ),
    );
    startedIn = Date.now() - started;
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    raw?.disconnect();
    await server?.stop();
  });

  /** Every live process receives `queue`, recording into the tally of the same name. */
  const receiveAll = (queue: string, leaseMs: number, live = nodes) =>
    Promise.all(
      live.map((node) =>
        node.run({ cmd: 'receive', queue, tally: queue, leaseMs, concurrency: 16, handlerMs: 0 }),
      ),
    );

  /** Each process sends its own range of seqs, all at once; resolves when every send resolved. */
  const sendAll = async (t: TestContext, queue: string, total: number): Promise<void> => {
    const share = total / PROCESSES;
    const started = Date.now();
    const sent = await Promise.all(
      nodes.map((node, i) =>
        node.run<number>(
          { cmd: 'send', queue, from: i * share, count: share, parallel: 64 },
          150_000,
        ),
      ),
    );
    assert.equal(
      sent.reduce((a, b) => a + b, 0),
      total,
      'every send acknowledged',
    );
    figure(t, `${total} sends acknowledged in`, Date.now() - started, `ms (${PROCESSES} senders)`);
  };

  const waitAllProcessed = async (tally: Tally, total: number): Promise<void> =>
    until(async () => (await tally.distinct()) === total, 150_000, 'every message processed').catch(
      async (e: Error) => {
        throw new Error(`${e.message}: ${await tally.distinct()} of ${total}`);
      },
    );

  const spread = async (tally: Tally, live: QueueProcess[]): Promise<string> => {
    const per = await Promise.all(live.map((node) => tally.by(node.nodeId)));
    return `${Math.min(...per)}–${Math.max(...per)} per process`;
  };

  it('processes each of 50,000 messages exactly once when no process dies', async (t) => {
    const MESSAGES = 50_000;
    const queue = 'work.nokill';
    const tally = new Tally(raw, queue);
    figure(t, `${PROCESSES} host processes started in`, startedIn, 'ms');
    const started = Date.now();
    await receiveAll(queue, 30_000);
    await sendAll(t, queue, MESSAGES); // the receivers already compete while the senders send
    await waitAllProcessed(tally, MESSAGES);
    figure(t, `${MESSAGES} messages sent and processed in`, Date.now() - started, 'ms');
    figure(t, 'processed', await spread(tally, nodes));
    // Every ack landed: no lease is outstanding, so no redelivery can come later.
    const keys = createKeys(namespace).queue(`mq:${queue}`);
    await until(
      async () => (await raw.zcard(keys.leased)) + (await raw.llen(keys.ready)) === 0,
      30_000,
      'every message acknowledged',
    );
    const { lost, duplicates } = lossAndDuplicates(await tally.counts(), MESSAGES);
    figure(t, 'lost', lost);
    figure(t, 'duplicates', duplicates);
    assert.equal(lost, 0, 'no message lost');
    assert.equal(duplicates, 0, 'no message processed twice');
  });

  it('loses nothing when 3 of the 10 processes are killed mid-run (duplicates counted)', async (t) => {
    const MESSAGES = 50_000;
    const LEASE_MS = 2000;
    const queue = 'work.kill3';
    const tally = new Tally(raw, queue);
    await sendAll(t, queue, MESSAGES); // senders first: the whole backlog is stored before anyone receives
    await receiveAll(queue, LEASE_MS);
    await until(async () => (await tally.distinct()) >= MESSAGES * 0.3, 150_000, '30% processed');
    const doomed = nodes.slice(0, 3);
    await Promise.all(doomed.map((node) => node.kill()));
    const killedAt = Date.now();
    const atKill = await tally.distinct();
    await waitAllProcessed(tally, MESSAGES);
    figure(t, 'processed when 3 processes were killed', atKill, `of ${MESSAGES}`);
    figure(
      t,
      'the rest processed',
      Date.now() - killedAt,
      `ms after the kill (leaseMs ${LEASE_MS})`,
    );
    const survivors = nodes.slice(3);
    figure(t, 'processed by the survivors', await spread(tally, survivors));
    // Graceful stops: the survivors' last acks land, so the counts below are final.
    await Promise.all(survivors.map((node) => node.stop()));

    const { lost, duplicates, twiceOrMore } = lossAndDuplicates(await tally.counts(), MESSAGES);
    const redelivered = await tally.redelivered();
    figure(t, 'redelivered (processed on attempt > 1)', redelivered);
    figure(t, 'lost', lost);
    figure(t, 'duplicates', duplicates, `(${twiceOrMore} messages processed more than once)`);
    assert.equal(lost, 0, 'no acknowledged send lost');
    assert.ok(redelivered > 0, 'the killed processes held messages that were redelivered');
  });
});
