import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { encodeEntry } from '../../../src/backends/redis/entry-codec.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
  waitFor,
} from './support.js';

describe('Redis registry watchers across a subscriber reconnect', () => {
  const namespace = uniqueNamespace('resync');
  let owner: Backend;
  let watcher: Backend;
  let raw: Redis;

  before(async () => {
    owner = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'owner');
    watcher = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'watcher');
    raw = new Redis(SHARED_REDIS_URL);
  });
  after(async () => {
    await Promise.allSettled([owner?.close(), watcher?.close()]);
    raw?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('delivers the puts and deletes it could not hear, once resubscribed', async (t) => {
    const changes: string[] = [];
    await watcher.registry.watch('k.resync', (c) =>
      changes.push(
        c.type === 'put' ? `put:${c.record.id}=${text(c.record.value)}` : `delete:${c.id}`,
      ),
    );
    await owner.registry.put('k.resync', 'stays', bytes('1'));
    await owner.registry.put('k.resync', 'goes', bytes('1'));
    await owner.registry.put('k.resync', 'changes', bytes('1'));
    await waitFor(() => changes.length === 3, 2000, 'initial puts');
    changes.length = 0;

    // Changes whose notifications the watcher never hears (written without publishing).
    const hash = `{${namespace}}:reg:k.resync`;
    await raw.hdel(hash, 'goes');
    await raw.hset(hash, 'changes', encodeEntry('owner', bytes('2')));
    await raw.hset(hash, 'new', encodeEntry('owner', bytes('3')));
    // Drop the watcher's subscriber connection; ioredis reconnects and resubscribes.
    const clients = await raw.client('LIST');
    const line = String(clients)
      .split('\n')
      .find((l) => l.includes(`name=plugboard:${namespace}:watcher:subscriber`));
    const id = /id=(\d+)/.exec(line ?? '')?.[1];
    assert.ok(id !== undefined, 'found the subscriber connection');
    await raw.client('KILL', 'ID', id);
    const killedAt = Date.now();

    await waitFor(() => changes.length >= 3, 3000, 'repairs after reconnect');
    figure(t, 'subscriber cut: missed changes repaired after', Date.now() - killedAt, 'ms');
    assert.deepEqual(changes.sort(), ['delete:goes', 'put:changes=2', 'put:new=3']);
    figure(t, 'missed changes delivered', changes.length, 'of 3 (1 delete, 2 puts)');
    // And live changes flow again.
    await owner.registry.put('k.resync', 'later', bytes('4'));
    await waitFor(() => changes.includes('put:later=4'), 2000, 'a live change');
  });
});
