/**
 * Three host processes with a tiered cache on one Redis: a stampede over all three calls the
 * loader once, and a delete on one process evicts the local tiers of the other two.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { figure, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { deleteCacheKeys } from '../cache/tier-support.js';
import { CacheProcess } from './cache-process.js';

describe('tiered cache across three processes on one Redis', { timeout: 120_000 }, () => {
  const namespace = uniqueNamespace('tier3');
  let nodes: CacheProcess[] = [];
  before(async () => {
    nodes = await Promise.all(
      ['n0', 'n1', 'n2'].map((id) => CacheProcess.start(SHARED_REDIS_URL, namespace, id)),
    );
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await deleteCacheKeys(SHARED_REDIS_URL, namespace);
  });

  it('a stampede of 3 × 1,000 concurrent misses calls the loader once in the cluster', async (t) => {
    const started = performance.now();
    const results = await Promise.all(
      nodes.map((n) =>
        n.run<{ loads: number; values: string[] }>({
          cmd: 'stampede',
          key: 'user:42',
          count: 1000,
          loadMs: 300,
        }),
      ),
    );
    const loads = results.reduce((sum, r) => sum + r.loads, 0);
    assert.equal(loads, 1, 'one loader call in the whole cluster');
    const values = new Set(results.flatMap((r) => r.values));
    assert.equal(values.size, 1, 'every caller got the same value');
    figure(
      t,
      'stampede of 3,000 gets over 3 processes',
      Math.round(performance.now() - started),
      'ms',
    );
    figure(t, 'loader calls', loads);
  });

  it("a delete on one process evicts the other two processes' local tiers", async () => {
    const key = 'user:7';
    for (const n of nodes) await n.run({ cmd: 'get', key });
    // The first read's own write spoils its local fill: the next read fills the local tier.
    for (const n of nodes) {
      for (let i = 0; i < 50 && !(await n.run<boolean>({ cmd: 'localHas', key })); i++)
        await n.run({ cmd: 'get', key });
      assert.equal(
        await n.run<boolean>({ cmd: 'localHas', key }),
        true,
        `${n.nodeId} local tier filled`,
      );
    }
    assert.equal(await nodes[0]!.run<boolean>({ cmd: 'delete', key }), true);
    for (const n of nodes.slice(1)) {
      const giveUp = Date.now() + 5000;
      while (await n.run<boolean>({ cmd: 'localHas', key })) {
        assert.ok(Date.now() < giveUp, `${n.nodeId} still holds the deleted key`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    assert.equal(await nodes[0]!.run<boolean>({ cmd: 'localHas', key }), false);
  });
});
