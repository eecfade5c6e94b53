import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, RegistryChange } from '../../src/backends/ports.js';
import { bytes, text, until, type BackendHarness, type HarnessFactory } from './harness.js';

/** The RegistryStore port contract (see src/backends/ports.ts). */
export function registryConformance(name: string, factory: HarnessFactory): void {
  describe(`RegistryStore conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    beforeEach(async () => {
      harness = await factory();
      [a, b] = await Promise.all([harness.create(), harness.create()]);
      await Promise.all([a.start(), b.start()]);
    });
    afterEach(() => harness.cleanup());

    const ids = async (node: Backend, kind: string): Promise<string[]> =>
      (await node.registry.list(kind)).map((r) => `${r.nodeId}/${r.id}=${text(r.value)}`).sort();

    it('lists entries of every node, replaces on put, removes on remove', async () => {
      await a.registry.put('k.test', 'a1', bytes('one'));
      await b.registry.put('k.test', 'b1', bytes('two'));
      await a.registry.put('k.other', 'x', bytes('x'));
      assert.deepEqual(await ids(b, 'k.test'), [`${a.nodeId}/a1=one`, `${b.nodeId}/b1=two`].sort());
      await a.registry.put('k.test', 'a1', bytes('uno'));
      assert.deepEqual(await ids(b, 'k.test'), [`${a.nodeId}/a1=uno`, `${b.nodeId}/b1=two`].sort());
      await a.registry.remove('k.test', 'a1');
      await a.registry.remove('k.test', 'a1');
      assert.deepEqual(await ids(a, 'k.test'), [`${b.nodeId}/b1=two`]);
      assert.deepEqual(await ids(a, 'k.empty'), []);
    });

    it('tells watchers of puts and removes from other nodes', async () => {
      const changes: string[] = [];
      const watch = await b.registry.watch('k.watch', (c: RegistryChange) =>
        changes.push(
          c.type === 'put' ? `put:${c.record.id}:${text(c.record.value)}` : `delete:${c.id}`,
        ),
      );
      await a.registry.put('k.watch', 'e1', bytes('v'));
      await a.registry.remove('k.watch', 'e1');
      await until(() => changes.length >= 2, 2000, 'two changes');
      assert.deepEqual(changes, ['put:e1:v', 'delete:e1']);
      await watch.close();
      await a.registry.put('k.watch', 'e2', bytes('v'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(changes.length, 2);
    });

    it("removes a node's entries at once when it leaves gracefully", async () => {
      const deletes: string[] = [];
      await b.registry.watch('k.leave', (c) => c.type === 'delete' && deletes.push(c.id));
      await a.registry.put('k.leave', 'gone-1', bytes('1'));
      await a.registry.put('k.leave', 'gone-2', bytes('2'));
      assert.ok((await b.registry.liveNodes()).includes(a.nodeId));
      await a.close();
      await until(() => deletes.length === 2, 2000, 'deletes after leave');
      assert.deepEqual(await ids(b, 'k.leave'), []);
      assert.ok(!(await b.registry.liveNodes()).includes(a.nodeId));
    });

    it("expires a crashed node's entries within the liveness TTL", async () => {
      const deletes: string[] = [];
      await b.registry.watch('k.crash', (c) => c.type === 'delete' && deletes.push(c.id));
      await a.registry.put('k.crash', 'dead-1', bytes('1'));
      await until(async () => (await ids(b, 'k.crash')).length === 1, 2000, 'entry visible');
      await harness.crash(a);
      // Not a graceful leave: the entry and the node stay until the node's liveness lapses.
      assert.deepEqual(await ids(b, 'k.crash'), [`${a.nodeId}/dead-1=1`]);
      assert.ok((await b.registry.liveNodes()).includes(a.nodeId));
      assert.equal(deletes.length, 0);
      await until(
        () => deletes.includes('dead-1'),
        harness.livenessMs + 2000,
        'expiry of the crashed node',
      );
      assert.deepEqual(await ids(b, 'k.crash'), []);
      assert.ok(!(await b.registry.liveNodes()).includes(a.nodeId));
    });
  });
}
