import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend, RegistryChange } from '../../../src/backends/ports.js';
import { encodeEntry } from '../../../src/backends/redis/entry-codec.js';
import { createKeys, ownedMember } from '../../../src/backends/redis/keys.js';
import type { RedisRegistryStore } from '../../../src/backends/redis/redis-registry-store.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from './support.js';

describe('Redis registry: leave and reap with declared keys only', () => {
  const namespace = uniqueNamespace('reap');
  const option = { redis: SHARED_REDIS_URL, namespace, livenessTtl: 60_000 };
  const keys = createKeys(namespace);
  let probe: Redis;
  let reaper: Backend;

  before(async () => {
    probe = new Redis(SHARED_REDIS_URL);
    reaper = await startBackend(option, 'reap-reaper');
  });
  after(async () => {
    await reaper?.close();
    probe?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  /** A node Redis knows with entries, but no process behind it; `deadline` relative to now. */
  async function ghost(node: string, deadline: number, entries: Array<[string, string]>) {
    const [seconds, micros] = await probe.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await probe.zadd(keys.nodes, now + deadline, node);
    for (const [kind, id] of entries) {
      await probe.hset(keys.entries(kind), id, encodeEntry(node, bytes(`${node}/${id}`)));
      await probe.sadd(keys.owned(node), ownedMember(kind, id));
    }
  }

  it('reaps a lapsed node kind by kind, announcing each entry, and spares one that came back', async (t) => {
    const changes: RegistryChange[] = [];
    await reaper.registry.watch('k.one', (c) => changes.push(c));
    await reaper.registry.watch('k.two', (c) => changes.push(c));
    await ghost('ghost-dead', -1000, [
      ['k.one', 'a'],
      ['k.one', 'b'],
      ['k.two', 'c'],
    ]);
    await ghost('ghost-back', 60_000, [['k.one', 'd']]);

    const reapStarted = Date.now();
    const reaped = await (reaper.registry as RedisRegistryStore).reap();
    assert.equal(reaped, 1);
    await waitFor(() => changes.length === 3, 2000, 'three delete announcements');
    figure(
      t,
      'reap of 1 lapsed node (3 entries, 2 kinds): deletes announced after',
      Date.now() - reapStarted,
      'ms',
    );
    figure(
      t,
      'entries of the node that came back, kept',
      (await probe.hkeys(keys.entries('k.one'))).length,
      'of 1',
    );
    assert.deepEqual(
      changes.map((c) => (c.type === 'delete' ? `${c.kind}/${c.id}@${c.nodeId}` : 'put')).sort(),
      ['k.one/a@ghost-dead', 'k.one/b@ghost-dead', 'k.two/c@ghost-dead'],
    );
    assert.equal(await probe.exists(keys.owned('ghost-dead')), 0);
    assert.equal(await probe.zscore(keys.nodes, 'ghost-dead'), null);
    assert.deepEqual(await probe.hkeys(keys.entries('k.one')), ['d']);
    assert.ok((await probe.zscore(keys.nodes, 'ghost-back')) !== null);
    assert.equal(
      await (reaper.registry as RedisRegistryStore).reap(),
      0,
      'reaping twice is harmless',
    );
  });

  it('leaves an entry another node took over when its first owner leaves', async () => {
    const first = await startBackend(option, 'reap-first');
    const second = await startBackend(option, 'reap-second');
    try {
      await first.registry.put('k.shared', 'x', bytes('from first'));
      await first.registry.put('k.shared', 'mine', bytes('first only'));
      await second.registry.put('k.shared', 'x', bytes('from second'));
      await first.close();
      const left = await reaper.registry.list('k.shared');
      assert.deepEqual(
        left.map((r) => [r.id, r.nodeId]),
        [['x', 'reap-second']],
      );
      assert.equal(await probe.exists(keys.owned('reap-first')), 0, 'stale member dropped');
      assert.equal(await probe.zscore(keys.nodes, 'reap-first'), null);
    } finally {
      await Promise.allSettled([first.close(), second.close()]);
    }
  });
});
