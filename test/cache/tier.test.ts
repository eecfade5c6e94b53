import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figure } from '../backends/redis/support.js';
import { startNodes } from './tier-support.js';
import { tierSuite } from './tier-suite.js';

tierSuite('memory');

describe('local tier before invalidations are heard', () => {
  it('keeps nothing, and a read begun then is not kept after', async () => {
    const nodes = await startNodes('memory');
    try {
      const local = nodes.a.cache.local<string>();
      assert.equal(local.get('k'), undefined); // the first tier of the node: not live yet
      local.set('early', 'v'); // nothing is heard yet: not kept
      assert.equal(local.get('early'), undefined);
      await local.ready();
      local.set('k', 'read before the tier could hear'); // that read may have missed a change
      assert.equal(local.get('k'), undefined);
      local.set('k', 'read after'); // the miss just above began a read after going live
      assert.equal(local.get('k'), 'read after');
    } finally {
      await nodes.close();
    }
  });
});

describe('local tier hit rate (a figure, not asserted)', () => {
  it('reads 1,000 hot keys', async (t) => {
    const nodes = await startNodes('memory');
    try {
      const local = nodes.a.cache.local<{ n: number }>({ maxEntries: 10_000, ttl: 60 });
      await local.ready();
      const keys = Array.from({ length: 1000 }, (_, i) => `hot:${i}`);
      keys.forEach((key, n) => local.set(key, { n }));
      let sum = 0;
      const rounds = 2_000_000;
      const started = performance.now();
      for (let i = 0; i < rounds; i++) sum += local.get(keys[i % 1000]!)!.n;
      const perSecond = Math.round(rounds / ((performance.now() - started) / 1000));
      assert.ok(sum > 0);
      figure(t, 'local tier hits', perSecond.toLocaleString('en'), 'gets/s');
    } finally {
      await nodes.close();
    }
  });
});
