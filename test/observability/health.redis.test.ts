import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
  waitFor,
} from '../backends/redis/support.js';
import { sample, startHost } from './support.js';

describe('metrics on Redis', () => {
  const namespace = uniqueNamespace('obs');
  after(() => deleteNamespace(SHARED_REDIS_URL, namespace));

  it('reads queue depths from Redis and counts events and calls per host', async () => {
    const backend = { redis: SHARED_REDIS_URL, namespace };
    const one = await startHost(['obs-worker'], { backend, nodeId: `${namespace}-1` });
    const two = await startHost(['obs-client'], { backend, nodeId: `${namespace}-2` });
    try {
      const worker = one.ctx['obs-worker']!;
      const client = two.ctx['obs-client']!;
      await worker.rpcServer.register('obs-echo', { echo: (x: number) => x }).ready;
      assert.equal(await client.rpcClient.call('obs-echo', 'echo', [7]), 7);
      const received: number[] = [];
      await worker.eventBus.subscribe('obs.tick', (n) => void received.push(n as number)).ready;
      await client.eventBus.publish('obs.tick', 1);
      await waitFor(() => received.length === 1, 5000, 'the event on the other node');
      await client.messageQueue.send('obs.jobs', { n: 1 });

      const clientSnap = await two.host.metrics();
      assert.equal(clientSnap.rpc['obs-echo']?.['echo']?.calls, 1);
      assert.equal(clientSnap.events['obs.tick']?.published, 1);
      await waitFor(
        async () => (await one.host.metrics()).events['obs.tick']?.delivered === 1,
        3000,
        'the delivery counted on the receiving node',
      );
      assert.equal((await one.host.metrics()).events['obs.tick']?.published, 0);
      // Queue depth is cluster-wide (read from Redis), on either host.
      await waitFor(
        async () => (await one.host.metrics()).queues['obs.jobs']?.waiting === 1,
        3000,
        'the queue depth read from Redis',
      );
      const text = await one.host.metrics({ format: 'prometheus' });
      assert.equal(sample(text, 'plugboard_queue_waiting{queue="obs.jobs",kind="work"}'), 1);
      assert.deepEqual(
        one.host.health().connections.map((c) => [c.name, c.up, c.status]),
        [
          ['commands', true, 'ready'],
          ['subscriber', true, 'ready'],
        ],
      );
    } finally {
      await Promise.all([one.host.stop(), two.host.stop()]);
    }
  });
});

describe('backend connection health', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server.stop());

  it('reports the Redis connections down (503) when the server goes away', async () => {
    const { host } = await startHost(['obs-lonely'], {
      backend: { redis: server.url, namespace: uniqueNamespace('obs'), operationTimeout: 1000 },
      http: { port: 0 },
      stopTimeout: 3000,
    });
    try {
      const url = `${host.httpAddress!.url}/health`;
      assert.equal((await fetch(url)).status, 200);
      await server.kill();
      // Down at once; the error arrives with the first reconnect attempt (refused).
      await waitFor(
        () => host.health().connections.every((c) => !c.up && c.lastError !== undefined),
        5000,
        'both connections reported down, with their last error',
      );
      const response = await fetch(url);
      assert.equal(response.status, 503);
      const body = (await response.json()) as {
        ok: boolean;
        connections: Array<{
          name: string;
          up: boolean;
          lastError?: { message: string; at: number };
        }>;
      };
      assert.equal(body.ok, true, 'every plugin is still active');
      const commands = body.connections.find((c) => c.name === 'commands');
      assert.equal(commands?.up, false);
      assert.ok(commands?.lastError !== undefined, 'the last connection error is reported');
      assert.ok(commands.lastError.at > 0);
    } finally {
      await host.stop();
    }
  });
});
