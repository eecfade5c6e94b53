import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figure } from '../backends/redis/support.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { startRuntime } from '../support/runtime.js';
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

describe('tiered: a value that lands between the shared read and the load claim', () => {
  it('is used: the loader is not called again', async () => {
    const network = new MemoryNetwork();
    const ra = await startRuntime({ network, nodeId: 'claim-a' });
    const rb = await startRuntime({ network, nodeId: 'claim-b' });
    try {
      await rb.ctx('p').cache.set('source', 'stored by b');
      const state = network.cacheState;
      const claim = state.claim.bind(state);
      // b's load finishes (stores, gives its claim back) just after a's read missed.
      state.claim = (key, owner, leaseMs, now) => {
        const entry = state.read('source', now, []);
        if (key === 'user:1' && entry !== undefined)
          state.write(key, entry.value, undefined, now, []);
        return claim(key, owner, leaseMs, now);
      };
      let loads = 0;
      const tiered = ra.ctx('p').cache.tiered<string>({ load: () => `loaded ${++loads}` });
      assert.equal(await tiered.get('user:1'), 'stored by b');
      assert.equal(loads, 0);
    } finally {
      await ra.close();
      await rb.close();
    }
  });
});
