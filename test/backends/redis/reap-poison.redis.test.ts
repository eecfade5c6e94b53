import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { encodeEntry } from '../../../src/backends/redis/entry-codec.js';
import { createKeys, ownedMember } from '../../../src/backends/redis/keys.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from './support.js';

const TTL = 900;

/** The reaper makes progress past poisoned nodes, and forged deadlines do not keep nodes alive. */
describe('Redis reaper and poisoned nodes', () => {
  const namespace = uniqueNamespace('reap-poison');
  const option = { redis: SHARED_REDIS_URL, namespace, livenessTtl: TTL };
  const keys = createKeys(namespace);
  let raw: Redis;
  let reaper: Backend;

  before(async () => {
    raw = new Redis(SHARED_REDIS_URL);
    reaper = await startBackend(option, 'rp-reaper');
  });
  after(async () => {
    await reaper?.close();
    raw?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('reaps a SIGKILLed node behind 50 older lapsed nodes whose owned sets are poisoned', async (t) => {
    // The 55 oldest lapsed nodes: 50 with an unparsable owned-set member next to a real entry,
    // 5 whose owned set is not a set at all.
    for (let i = 0; i < 55; i++) {
      const node = `poisoned-${i}`;
      await raw.zadd(keys.nodes, i + 1, node);
      if (i < 50) {
        await raw.sadd(keys.owned(node), 'garbage', ownedMember('k.victim', `p${i}`));
        await raw.hset(keys.entries('k.victim'), `p${i}`, encodeEntry(node, bytes('p')));
      } else {
        await raw.set(keys.owned(node), 'not a set');
      }
    }
    const deletes: string[] = [];
    await reaper.registry.watch('k.victim', (c) => c.type === 'delete' && deletes.push(c.id));
    const victim = await startBackend(option, 'rp-victim');
    await victim.registry.put('k.victim', 'v1', bytes('alive'));
    await (victim as RedisBackend).simulateCrash();
    const crashedAt = Date.now();

    await waitFor(() => deletes.includes('v1'), TTL + 4000, 'the SIGKILLed node to be reaped');
    const reapedAfter = Date.now() - crashedAt;
    await waitFor(
      async () => (await raw.zcard(keys.nodes)) === 1,
      15_000,
      'every poisoned node to be removed',
    );
    const allReapedAfter = Date.now() - crashedAt;
    assert.deepEqual(await raw.zrange(keys.nodes, '0', '-1'), ['rp-reaper']);
    // Their entries are gone from the store; watchers hear of it through the change log, read
    // asynchronously, so the announcements may trail the removal a little.
    const left = await raw.hkeys(keys.entries('k.victim'));
    assert.deepEqual(
      left.filter((id) => id.startsWith('p')),
      [],
      'the poisoned nodes’ entries are removed',
    );
    // Bounded generously: on a loaded machine the change-log reads trail far behind.
    await waitFor(
      () => deletes.filter((id) => id.startsWith('p')).length === 50,
      60_000,
      'their 50 entries to be announced',
    );
    // Counted by whoever reaped them (the victim may have reaped a few before its crash).
    const counted = (kind: 'malformedOwnedMember' | 'wrongTypeKey'): number =>
      (reaper as RedisBackend).faults[kind] + (victim as RedisBackend).faults[kind];
    assert.ok(counted('malformedOwnedMember') >= 50, `${counted('malformedOwnedMember')} counted`);
    assert.ok(counted('wrongTypeKey') >= 5, `${counted('wrongTypeKey')} counted`);
    figure(
      t,
      'crashed node behind 55 poisoned ones: reaped after',
      reapedAfter,
      `ms (livenessTtl ${TTL})`,
    );
    figure(t, '55 poisoned nodes removed after', allReapedAfter, 'ms from the crash');
    figure(t, 'malformed owned-set members counted', counted('malformedOwnedMember'));
    figure(t, 'owned keys of the wrong type counted', counted('wrongTypeKey'));
  });

  it('treats a liveness deadline far in the future as forged: hidden at once, then reaped', async (t) => {
    const [seconds] = await raw.time();
    await raw.zadd(keys.nodes, Number(seconds) * 1000 + 10 * 365 * 86_400_000, 'forged-node');
    await raw.sadd(keys.owned('forged-node'), ownedMember('k.forged', 'f1'));
    await raw.hset(keys.entries('k.forged'), 'f1', encodeEntry('forged-node', bytes('x')));
    assert.deepEqual(await reaper.registry.list('k.forged'), []);
    assert.ok(!(await reaper.registry.liveNodes()).includes('forged-node'));
    const forgedAt = Date.now();
    await waitFor(
      async () => (await raw.zscore(keys.nodes, 'forged-node')) === null,
      TTL + 2000,
      'the forged node to be reaped',
    );
    figure(
      t,
      'node with a deadline 10 years ahead: reaped after',
      Date.now() - forgedAt,
      `ms (livenessTtl ${TTL})`,
    );
    // Its entry goes in the same pass, possibly a moment after the node itself.
    await waitFor(
      async () => (await raw.hexists(keys.entries('k.forged'), 'f1')) === 0,
      TTL + 2000,
      "the forged node's entry to be removed",
    );
  });
});
