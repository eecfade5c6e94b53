/**
 * Ten host processes compete for one queue of 50,000 messages. With nobody killed, each message
 * is processed exactly once; with three of them killed mid-run (SIGKILL), none is lost and the
 * duplicates (at-least-once) are counted. Runs on a throwaway redis-server; heavy (11 processes),
 * so each test runs once per file.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import type { QueueNodeConfig } from './fixtures/queue-node.js';
import { figure, uniqueNamespace, until } from './support.js';
import { lossAndDuplicates, QueueProcess, Tally } from './queue-process.js';

const PROCESSES = 10;
const MESSAGES = 50_000;
const PER_PROCESS = MESSAGES / PROCESSES;

describe('message queue: 10 processes competing for 50,000 messages', { timeout: 170_000 }, () => {
  let server: RedisServer;
  let raw: Redis;
  let nodes: QueueProcess[] = [];

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    nodes = [];
  });
  after(async () => {
    raw?.disconnect();
    await server?.stop();
  });

  const startNodes = async (label: string, leaseMs: number): Promise<Tally> => {
    const common: Omit<QueueNodeConfig, 'nodeId'> = {
      redisUrl: server.url,
      namespace: uniqueNamespace(`mq-${label}`),
      queue: `work.${label}`,
      tally: label,
      leaseMs,
      concurrency: 16,
      handlerMs: 0,
    };
    nodes = await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) => QueueProcess.start({ ...common, nodeId: `w${i}` })),
    );
    return new Tally(raw, label);
  };

  /** Each process sends its own range of seqs, all at once; resolves when every send resolved. */
  const sendAll = async (t: TestContext): Promise<void> => {
    const started = Date.now();
    const sent = await Promise.all(
      nodes.map((node, i) =>
        node.run<number>({ cmd: 'send', from: i * PER_PROCESS, count: PER_PROCESS, parallel: 64 }, 150_000),
      ),
    );
    assert.equal(
      sent.reduce((a, b) => a + b, 0),
      MESSAGES,
      'every send acknowledged',
    );
    figure(t, `${MESSAGES} sends acknowledged in`, Date.now() - started, `ms (${PROCESSES} senders)`);
  };

  const waitAllProcessed = async (tally: Tally): Promise<void> =>
    until(async () => (await tally.distinct()) === MESSAGES, 150_000, 'every message processed').catch(
      async (e: Error) => {
        throw new Error(`${e.message}: ${await tally.distinct()} of ${MESSAGES}`);
      },
    );

  const spread = async (tally: Tally, ids: string[]): Promise<string> => {
    const per = await Promise.all(ids.map((id) => tally.by(id)));
    return `${Math.min(...per)}–${Math.max(...per)} per process`;
  };

  it('processes each message exactly once when no process dies', async (t) => {
    const tally = await startNodes('nokill', 30_000);
    const started = Date.now();
    await Promise.all(nodes.map((node) => node.run({ cmd: 'receive' })));
    await sendAll(t); // receivers already compete while the senders send
    await waitAllProcessed(tally);
    figure(t, `${MESSAGES} messages sent and processed in`, Date.now() - started, 'ms');
    figure(t, 'processed', await spread(tally, nodes.map((n) => n.nodeId)));
    await Promise.all(nodes.map((node) => node.stop()));

    const { lost, duplicates } = lossAndDuplicates(await tally.counts(), MESSAGES);
    figure(t, 'lost', lost);
    figure(t, 'duplicates', duplicates);
    assert.equal(lost, 0, 'no message lost');
    assert.equal(duplicates, 0, 'no message processed twice');
  });

  it('loses nothing when 3 of the 10 processes are killed mid-run (duplicates counted)', async (t) => {
    const LEASE_MS = 2000;
    const tally = await startNodes('kill3', LEASE_MS);
    await sendAll(t); // senders first: the whole backlog is stored before anyone receives
    await Promise.all(nodes.map((node) => node.run({ cmd: 'receive' })));
    await until(async () => (await tally.distinct()) >= MESSAGES * 0.3, 150_000, '30% processed');
    const doomed = nodes.slice(0, 3);
    await Promise.all(doomed.map((node) => node.kill()));
    const killedAt = Date.now();
    const atKill = await tally.distinct();
    await waitAllProcessed(tally);
    figure(t, 'processed when 3 processes were killed', atKill, `of ${MESSAGES}`);
    figure(t, 'the rest processed', Date.now() - killedAt, `ms after the kill (leaseMs ${LEASE_MS})`);
    const survivors = nodes.slice(3);
    figure(t, 'processed by the survivors', await spread(tally, survivors.map((n) => n.nodeId)));
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
