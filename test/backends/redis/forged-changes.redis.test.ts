import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { encodeEntry, encodePutChange } from '../../../src/backends/redis/entry-codec.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
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

/** Watch events agree with what Redis holds, whatever is published on a change channel. */
describe('Redis registry watchers and forged change frames', () => {
  const namespace = uniqueNamespace('forged');
  const option = { redis: SHARED_REDIS_URL, namespace };
  const keys = createKeys(namespace);
  let raw: Redis;
  let owner: Backend;
  let watcher: Backend;

  before(async () => {
    raw = new Redis(SHARED_REDIS_URL);
    owner = await startBackend(option, 'forged-owner');
    watcher = await startBackend(option, 'forged-watcher');
  });
  after(async () => {
    await Promise.allSettled([owner?.close(), watcher?.close()]);
    raw?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('never reports a forged put or a forged delete, and still reports real changes in order', async (t) => {
    const kind = 'bus.group';
    const changes: string[] = [];
    await watcher.registry.watch(kind, (c) =>
      changes.push(
        c.type === 'put'
          ? `put:${c.record.id}@${c.record.nodeId}=${text(c.record.value)}`
          : `delete:${c.id}`,
      ),
    );
    await owner.registry.put(kind, 'real', bytes('1'));
    await waitFor(() => changes.length === 1, 2000, 'the real put');

    // A phantom member claimed by a live node, and the real member's removal, both forged.
    const channel = keys.changeChannel(kind);
    const phantom = encodePutChange(kind, 'phantom', encodeEntry('forged-owner', bytes('x')));
    const forgedDelete = Buffer.from(
      encodePutChange(kind, 'real', encodeEntry('forged-owner', bytes(''))),
    );
    forgedDelete[0] = 0x44; // 'D'
    assert.equal(await raw.publish(channel, phantom), 1, 'the watcher hears the forged frames');
    await raw.publish(channel, forgedDelete);
    // Real changes after the forged frames: a quick put-then-remove, and a marker.
    await owner.registry.put(kind, 'brief', bytes('2'));
    await owner.registry.remove(kind, 'brief');
    await owner.registry.put(kind, 'marker', bytes('3'));
    await waitFor(() => changes.some((c) => c.startsWith('put:marker')), 2000, 'the marker');

    assert.deepEqual(changes, [
      'put:real@forged-owner=1',
      'put:brief@forged-owner=2',
      'delete:brief',
      'put:marker@forged-owner=3',
    ]);
    assert.deepEqual((await watcher.registry.list(kind)).map((r) => r.id).sort(), [
      'marker',
      'real',
    ]);
    // A forged frame is judged after one more round trip (the log's last entry), which may
    // still be in flight when the marker arrives.
    await waitFor(
      () => (watcher as RedisBackend).faults.unconfirmedChange >= 2,
      2000,
      'the forged frames to be judged',
    );
    assert.equal((watcher as RedisBackend).faults.unconfirmedChange, 2);
    figure(
      t,
      'forged frames reported to the watcher',
      changes.filter((c) => c.includes('phantom') || c === 'delete:real').length,
      'of 2',
    );
    figure(
      t,
      'forged frames counted as unconfirmed',
      (watcher as RedisBackend).faults.unconfirmedChange,
      'of 2',
    );
    figure(
      t,
      'real changes reported, in order',
      changes.length - 1,
      'of 3 after the forged frames',
    );
  });
});
