import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../../src/backends/ports.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, figure, startBackend, text, uniqueNamespace, waitFor } from './support.js';

/** After Redis restarts empty, ids and attempts start over: no old lease token may settle a new message. */
describe('Redis queue leases across a Redis restart without persistence', () => {
  let server: RedisServer;
  let node: Backend;

  before(async () => {
    server = await startRedisServer();
    node = await startBackend(
      { redis: server.url, namespace: uniqueNamespace('lease-restart'), operationTimeout: 1000 },
      'lease-node',
    );
  });
  after(async () => {
    await node?.close();
    await server.stop();
  });

  it('refuses every token from before the restart, though the new message has the same id and attempt', async (t) => {
    const q = 'q.restart';
    const lease = { count: 1, leaseMs: 60_000, waitMs: 0 };
    await node.queues.enqueue(q, bytes('before'));
    const [old] = await node.queues.claim(q, 'slow consumer', lease);
    assert.ok(old);

    await server.restart();
    const restartedAt = Date.now();
    await waitFor(
      () =>
        node.queues.enqueue(q, bytes('after')).then(
          () => true,
          () => false,
        ),
      5000,
      'Redis to be back',
    );
    figure(
      t,
      'Redis restarted empty: first enqueue accepted after',
      Date.now() - restartedAt,
      'ms',
    );
    const [fresh] = await node.queues.claim(q, 'new consumer', lease);
    assert.ok(fresh);
    assert.deepEqual(
      [fresh.id, fresh.attempt, text(fresh.payload)],
      [old.id, old.attempt, 'after'],
    );

    // The slow consumer of the lost message comes back: none of its settlements may land.
    const stale = [
      await node.queues.ack(q, fresh.id, old.lease),
      await node.queues.extend(q, fresh.id, old.lease, 1000),
      await node.queues.release(q, fresh.id, old.lease, 0),
      await node.queues.deadLetter(q, fresh.id, old.lease, 'stale'),
    ];
    assert.deepEqual(stale, [false, false, false, false], 'ack, extend, release, deadLetter');
    figure(
      t,
      'settlements with a pre-restart lease token refused',
      stale.filter((ok) => !ok).length,
      'of 4',
    );
    assert.deepEqual(await node.queues.counts(q), { ready: 0, delayed: 0, leased: 1, dead: 0 });
    assert.equal(await node.queues.ack(q, fresh.id, fresh.lease), true);
  });
});
