import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import type { BackendHarness, HarnessFactory } from './harness.js';

/** The KeyUsageStore port contract (see src/backends/ports.ts), on two nodes of one cluster. */
export function keyUsageConformance(name: string, factory: HarnessFactory): void {
  describe(`KeyUsageStore conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    beforeEach(async () => {
      harness = await factory();
      a = await harness.create();
      b = await harness.create();
      await Promise.all([a.start(), b.start()]);
    });
    afterEach(() => harness.cleanup());

    it('adds every node’s batches into one total per key version; 0 reads it', async () => {
      assert.equal(await a.keyUsage.add('data-key', 1, 0), 0);
      assert.equal(await a.keyUsage.add('data-key', 1, 1000), 1000);
      assert.equal(await b.keyUsage.add('data-key', 1, 5), 1005);
      assert.equal(await a.keyUsage.add('data-key', 1, 0), 1005);
      // Concurrent adds from both nodes all count.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).keyUsage.add('data-key', 1, 3)),
      );
      assert.equal(await b.keyUsage.add('data-key', 1, 0), 1065);
    });

    it('keeps versions and key ids apart, whatever characters an id holds', async () => {
      await a.keyUsage.add('k', 1, 7);
      await a.keyUsage.add('k', 2, 11);
      await b.keyUsage.add('k:2', 1, 13);
      await b.keyUsage.add('1:k', 2, 17);
      await b.keyUsage.add('ключ {x}', 1, 19);
      assert.equal(await b.keyUsage.add('k', 1, 0), 7);
      assert.equal(await b.keyUsage.add('k', 2, 0), 11);
      assert.equal(await a.keyUsage.add('k:2', 1, 0), 13);
      assert.equal(await a.keyUsage.add('1:k', 2, 0), 17);
      assert.equal(await a.keyUsage.add('ключ {x}', 1, 0), 19);
      assert.equal(await a.keyUsage.add('k', 3, 0), 0);
    });

    it('counts past 2^32 (the AES-GCM limit it guards)', async () => {
      const limit = 2 ** 32;
      assert.equal(await a.keyUsage.add('big', 1, limit - 1), limit - 1);
      assert.equal(await b.keyUsage.add('big', 1, 2), limit + 1);
    });

    it('outlives the node that counted: a node joining later reads the total', async () => {
      await a.keyUsage.add('kept', 4, 42);
      await a.close();
      const c = await harness.create();
      await c.start();
      assert.equal(await c.keyUsage.add('kept', 4, 0), 42);
    });

    it('rejects once its backend is closed', async () => {
      await a.close();
      await assert.rejects(a.keyUsage.add('k', 1, 1), { code: 'PB_BACKEND_UNAVAILABLE' });
    });
  });
}
