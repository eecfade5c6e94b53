import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
