import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend, RegistryChange } from '../../../src/backends/ports.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { createRedisBackend } from '../../../src/backends/redis/index.js';
import {
  bytes,
  captureLogger,
  figure,
  startBackend,
  text,
  uniqueNamespace,
  waitFor,
} from './support.js';

describe('Redis backend across a Redis restart', () => {
  let server: RedisServer;
  let a: Backend;
  let b: Backend;
  const namespace = uniqueNamespace('restart');

  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await server.stop();
  });

  it('goes connecting → ready → reconnecting → ready → closed, and everything comes back exactly once', async (t) => {
    const option = { redis: server.url, namespace, livenessTtl: 3000, operationTimeout: 1000 };
    a = await startBackend(option, 'restart-a');
    b = await createRedisBackend(option, { nodeId: 'restart-b', logger: captureLogger().logger });
    assert.equal(b.status, 'connecting');
    await b.start();
    assert.equal(b.status, 'ready');

    // Two local subscriptions of one topic, a watcher, a responder and a registry entry on b.
    const first: string[] = [];
    const second: string[] = [];
    const changes: RegistryChange[] = [];
    await b.transport.subscribe('t.restart', (p) => first.push(text(p)));
    await b.transport.subscribe('t.restart', (p) => second.push(text(p)));
    await b.registry.watch('k.restart', (c) => changes.push(c));
    await b.transport.respond('t.rpc', (p) => bytes(`re:${text(p)}`));
    await b.registry.put('k.restart', 'b-entry', bytes('v'));
    await b.queues.bind('q.restart', 'order.*');

    await server.kill();
    const killedAt = Date.now();
    await waitFor(() => b.status === 'reconnecting', 2000, 'b to notice the outage');
    figure(t, 'Redis killed: outage noticed after', Date.now() - killedAt, 'ms');
    await server.restart();
    const restartedAt = Date.now();
    await waitFor(() => a.status === 'ready' && b.status === 'ready', 5000, 'both ready again');
    figure(t, 'Redis restarted empty: both nodes ready after', Date.now() - restartedAt, 'ms');

    // Redis lost everything (no persistence): b rejoins on reconnect and puts its entry again,
    // which also proves the scripts were reloaded after NOSCRIPT.
    await waitFor(
      async () => (await a.registry.list('k.restart')).length === 1,
      3000,
      'entry put again',
    );
    figure(t, 'registry entry back after', Date.now() - restartedAt, 'ms from the restart');
    assert.deepEqual((await a.registry.liveNodes()).sort(), ['restart-a', 'restart-b']);
    await waitFor(() => changes.some((c) => c.type === 'put'), 3000, 'watcher sees the put again');
    // ...and binds its durable queue again, so publishers keep storing events for it.
    await waitFor(
      async () =>
        (await a.queues.bindings()).some((x) => x.queue === 'q.restart' && x.pattern === 'order.*'),
      3000,
      'binding re-applied',
    );
    figure(t, 'durable binding back after', Date.now() - restartedAt, 'ms from the restart');

    // Exactly one SUBSCRIBE per channel on b's subscriber connection.
    const probe = new Redis(server.url);
    probe.on('error', () => undefined); // expected while the server restarts
    try {
      const topicChannel = `{${namespace}}:t:t.restart`;
      const inbox = `{${namespace}}:n:restart-b`;
      await waitFor(
        async () => {
          const counts = (await probe.pubsub('NUMSUB', topicChannel, inbox)) as Array<
            string | number
          >;
          return counts[1] === 1 && counts[3] === 1;
        },
        3000,
        'one subscription per channel',
      );
    } finally {
      probe.disconnect();
    }

    // Every message arrives exactly once per local subscription.
    for (let i = 0; i < 20; i++) await a.transport.publish('t.restart', bytes(`m${i}`));
    const expected = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await waitFor(() => first.length >= 20 && second.length >= 20, 3000, 'deliveries');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(first, expected);
    assert.deepEqual(second, expected);
    figure(
      t,
      'broadcasts after the restart delivered',
      first.length + second.length,
      'of 40 (20 × 2 subscriptions)',
    );

    assert.equal(
      text(await a.transport.request('restart-b', 't.rpc', bytes('x'), Date.now() + 1000)),
      're:x',
    );
    await a.registry.put('k.restart', 'a-entry', bytes('w'));
    assert.equal((await b.registry.list('k.restart')).length, 2);

    await b.close();
    assert.equal(b.status, 'closed');
  });
});
