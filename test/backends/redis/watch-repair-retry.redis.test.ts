import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { encodeEntry } from '../../../src/backends/redis/entry-codec.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, figure, startBackend, text, uniqueNamespace, waitFor } from './support.js';

/** A watcher repair that fails (Redis answers PING but not scripts) is retried until it works. */
describe('Redis watcher repair after a reconnect, when the first repair fails', () => {
  let server: RedisServer;
  let raw: Redis;
  let watcher: Backend;
  const namespace = uniqueNamespace('repair');
  const keys = createKeys(namespace);

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
    watcher = await startBackend(
      { redis: server.url, namespace, operationTimeout: 400 },
      'repair-watcher',
    );
  });
  after(async () => {
    await raw?.call('CLIENT', 'UNPAUSE').catch(() => undefined);
    await watcher?.close();
    raw?.disconnect();
    await server.stop();
  });

  it('retries the resync with backoff and delivers what was missed once Redis answers', async (t) => {
    const changes: string[] = [];
    await watcher.registry.watch('k.repair', (c) =>
      changes.push(
        c.type === 'put' ? `put:${c.record.id}=${text(c.record.value)}` : `delete:${c.id}`,
      ),
    );
    // A change the watcher cannot hear: written without logging or publishing, by a live node.
    const [seconds] = await raw.time();
    await raw.zadd(keys.nodes, Number(seconds) * 1000 + 60_000, 'elsewhere');
    await raw.hset(keys.entries('k.repair'), 'missed', encodeEntry('elsewhere', bytes('1')));

    // Scripts (EVALSHA) now wait 1.5 s, beyond operationTimeout; PING and SUBSCRIBE do not.
    await raw.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    const line = String(await raw.client('LIST'))
      .split('\n')
      .find((l) => l.includes(`name=plugboard:${namespace}:repair-watcher:subscriber`));
    const id = /id=(\d+)/.exec(line ?? '')?.[1];
    assert.ok(id !== undefined, 'found the subscriber connection');
    await raw.client('KILL', 'ID', id);
    const killedAt = Date.now();

    // The first resync times out; a retry after the pause delivers the missed put.
    await waitFor(() => changes.includes('put:missed=1'), 8000, 'the repair to be retried');
    assert.deepEqual(changes, ['put:missed=1']);
    figure(
      t,
      'missed put delivered after',
      Date.now() - killedAt,
      'ms from the drop (scripts paused 1500 ms, operationTimeout 400)',
    );
    figure(t, 'missed changes delivered', changes.length, 'of 1');
  });
});
