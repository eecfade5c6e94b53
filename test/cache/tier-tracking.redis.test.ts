import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../backends/redis/support.js';
import { fillLocal, startNodes, type TierNodes } from './tier-support.js';

/** The id of node `nodeId`'s cache tracking connection, from CLIENT LIST. */
async function trackingId(admin: Redis, nodeId: string): Promise<string> {
  const list = String(await admin.client('LIST'));
  const line = list.split('\n').find((l) => l.includes(`:${nodeId}:tracking`));
  assert.ok(line !== undefined, 'no tracking connection listed');
  return /\bid=(\d+)/.exec(line)![1]!;
}

describe('cache tracking on a throwaway Redis: lost channel, FLUSHALL, restart', () => {
  let server: RedisServer;
  let nodes: TierNodes;
  let admin: Redis;
  before(async () => {
    server = await startRedisServer();
    nodes = await startNodes('redis', server.url);
    admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    admin.disconnect();
    await nodes.close();
    await server.stop();
  });

  it('a dropped tracking connection flushes the local tier, keeps nothing until tracking is back, then tracks again', async () => {
    const local = nodes.a.cache.local<string>();
    await local.ready();
    await nodes.b.cache.set('user:1', 'v1');
    local.set('user:1', 'v1');
    local.set('user:2', 'v2');
    const before = await trackingId(admin, nodes.nodeA);
    // Kill it and hold the server for a moment, so the reconnect cannot turn tracking on yet.
    await admin.pipeline().client('KILL', 'ID', before).client('PAUSE', 1500, 'ALL').exec();
    await waitFor(() => local.size === 0, 3000, 'the flush on the lost channel');
    local.set('user:1', 'v1'); // a read that raced the loss: dropped, nothing is heard now
    assert.equal(local.get('user:1'), undefined);
    // The value is deleted while this node cannot hear it: it must not come back.
    await nodes.b.cache.delete('user:1');
    await local.ready(5000);
    assert.notEqual(await trackingId(admin, nodes.nodeA), before);
    assert.equal(local.get('user:1'), undefined);
    assert.equal(await nodes.a.cache.get('user:1'), undefined);
    // Tracking is on again on the new connection: remote writes evict once more.
    local.set('user:2', 'v2');
    assert.equal(local.get('user:2'), 'v2');
    await nodes.b.cache.set('user:2', 'v3');
    await waitFor(() => !local.has('user:2'), 3000, 'eviction after the reconnect');
  });

  it("a raw client's write, a TTL lapsing, and nothing outside the cache prefix", async () => {
    const local = nodes.a.cache.local<string>();
    await local.ready();
    const prefix = `${nodes.namespace}:c:`;
    local.set('raw', 'v');
    assert.equal(local.get('raw'), 'v');
    await admin.set(`${prefix}raw`, 'written by another client');
    await waitFor(() => !local.has('raw'), 3000, 'eviction by a raw write');
    await nodes.b.cache.set('brief', 'v', { ttl: 0.05 });
    local.set('brief', 'v'); // no read mark: kept
    assert.equal(local.get('brief'), 'v');
    await waitFor(() => !local.has('brief'), 3000, 'eviction when the TTL lapses');
    local.set('other', 'v');
    assert.equal(local.get('other'), 'v');
    await admin.set(`${nodes.namespace}:x:other`, 'not a cache key');
    await admin.set(`${prefix}other`, 'now it is');
    await waitFor(() => !local.has('other'), 3000, 'eviction');
  });

  it('FLUSHALL (a null invalidation) flushes every local tier and tracking goes on', async () => {
    const local = nodes.a.cache.local<string>();
    await local.ready();
    local.set('a', '1');
    local.set('b', '2');
    await admin.flushall();
    await waitFor(() => local.size === 0, 3000, 'the flush');
    local.set('a', '1');
    assert.equal(local.get('a'), '1');
  });

  it('a Redis restart without persistence flushes local tiers; tracking resumes on the new server', async () => {
    const tiered = nodes.a.cache.tiered<string>({ load: (k) => `loaded ${k}` });
    await tiered.local.ready();
    await fillLocal(tiered, 'k');
    await server.restart();
    await waitFor(() => tiered.local.size === 0, 5000, 'the flush on restart');
    await tiered.local.ready(10_000);
    tiered.local.set('k', 'local copy');
    assert.equal(tiered.local.get('k'), 'local copy');
    await nodes.b.cache.set('k', 'changed');
    await waitFor(() => !tiered.local.has('k'), 5000, 'eviction on the new server');
    assert.equal(await tiered.get('k'), 'changed');
  });
});
