import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, figure, startBackend, uniqueNamespace, waitFor } from './support.js';

/** How many times Redis ran `command` since its start (INFO commandstats). */
async function calls(probe: Redis, command: string): Promise<number> {
  const info = await probe.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return match === null ? 0 : Number(match[1]);
}

describe('Redis subscriptions are reference-counted', () => {
  let server: RedisServer;
  let probe: Redis;
  let node: Backend;
  const namespace = uniqueNamespace('subs');

  before(async () => {
    server = await startRedisServer();
    probe = new Redis(server.url);
    probe.on('error', () => undefined); // expected while the server restarts
    node = await startBackend({ redis: server.url, namespace }, 'subs-node');
  });
  after(async () => {
    await node?.close();
    probe?.disconnect();
    await server.stop();
  });

  it('sends one SUBSCRIBE per channel and one UNSUBSCRIBE when the last handler leaves', async () => {
    assert.equal(await calls(probe, 'subscribe'), 1, 'the inbox');
    const subs = await Promise.all(
      [1, 2, 3].map(() => node.transport.subscribe('t.shared', () => undefined)),
    );
    const watches = await Promise.all(
      [1, 2].map(() => node.registry.watch('k.shared', () => undefined)),
    );
    assert.equal(await calls(probe, 'subscribe'), 3, 'inbox, topic, change channel');

    await subs[0]!.close();
    await subs[1]!.close();
    await watches[0]!.close();
    assert.equal(await calls(probe, 'unsubscribe'), 0);
    await subs[2]!.close();
    await watches[1]!.close();
    assert.equal(await calls(probe, 'unsubscribe'), 2);
    const counts = (await probe.pubsub('NUMSUB', `{${namespace}}:t:t.shared`)) as Array<
      string | number
    >;
    assert.equal(counts[1], 0);
  });

  it('resubscribes each channel exactly once after a reconnect (ioredis does it, nothing doubles it)', async (t) => {
    let delivered = 0;
    await node.transport.subscribe('t.again', () => void delivered++);
    await node.transport.subscribe('t.again', () => void delivered++);
    await server.restart();
    const restartedAt = Date.now();
    probe.disconnect();
    probe = new Redis(server.url);
    probe.on('error', () => undefined); // expected while the server restarts
    await waitFor(() => node.status === 'ready', 5000, 'reconnect');
    figure(t, 'Redis restarted: node ready after', Date.now() - restartedAt, 'ms');
    // Stats restarted with the server: one resubscribe command for every channel still wanted.
    await waitFor(async () => (await calls(probe, 'subscribe')) >= 1, 2000, 'resubscribe');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await calls(probe, 'subscribe'), 1);
    figure(
      t,
      'SUBSCRIBE commands after the restart',
      await calls(probe, 'subscribe'),
      '(2 channels)',
    );
    const numsub = (await probe.pubsub(
      'NUMSUB',
      `{${namespace}}:t:t.again`,
      `{${namespace}}:n:subs-node`,
    )) as Array<string | number>;
    assert.deepEqual([numsub[1], numsub[3]], [1, 1]);
    const sender = await startBackend({ redis: server.url, namespace }, 'subs-sender');
    try {
      await sender.transport.publish('t.again', bytes('x'));
      await waitFor(() => delivered === 2, 2000, 'one delivery per local subscription');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(delivered, 2);
      figure(
        t,
        'deliveries of one broadcast after the restart',
        delivered,
        'of 2 local subscriptions',
      );
    } finally {
      await sender.close();
    }
  });

  it('unsubscribes after a reconnect a channel whose UNSUBSCRIBE was dropped during the outage', async (t) => {
    const quick = await startBackend(
      { redis: server.url, namespace, operationTimeout: 400 },
      'subs-quick',
    );
    try {
      const sub = await quick.transport.subscribe('t.dropped', () => undefined);
      await server.kill();
      await waitFor(() => quick.status === 'reconnecting', 2000, 'the outage to be noticed');
      await sub.close(); // the UNSUBSCRIBE waits, then is dropped at its deadline
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.restart();
      probe.disconnect();
      probe = new Redis(server.url);
      probe.on('error', () => undefined); // expected while the server restarts
      const restartedAt = Date.now();
      await waitFor(() => quick.status === 'ready', 5000, 'reconnect');
      await waitFor(
        async () => (await calls(probe, 'unsubscribe')) >= 1,
        2000,
        'the UNSUBSCRIBE to be sent again',
      );
      figure(
        t,
        'dropped UNSUBSCRIBE sent again after',
        Date.now() - restartedAt,
        'ms from the restart',
      );
      const numsub = (await probe.pubsub('NUMSUB', `{${namespace}}:t:t.dropped`)) as Array<
        string | number
      >;
      assert.equal(numsub[1], 0);
    } finally {
      await quick.close();
    }
  });
});
