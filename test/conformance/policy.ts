import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend, PolicySnapshot } from '../../src/backends/ports.js';
import { bytes, text, type BackendHarness, type HarnessFactory } from './harness.js';

const asMap = (snapshot: PolicySnapshot): Record<string, string> =>
  Object.fromEntries(snapshot.records.map((r) => [r.key, text(r.value)]));

/** The PolicyStore port contract (see src/backends/ports.ts), on two nodes of one cluster. */
export function policyConformance(name: string, factory: HarnessFactory): void {
  describe(`PolicyStore conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;

    before(async () => {
      harness = await factory();
      a = await harness.create();
      b = await harness.create();
      await Promise.all([a.start(), b.start()]);
    });
    after(async () => harness.cleanup());

    it('starts empty at revision 0; every node sees a write and its revision', async () => {
      assert.equal(await a.policies.revision(), 0);
      assert.deepEqual(await b.policies.snapshot(), { revision: 0, records: [] });
      assert.equal(await a.policies.write([], 1), undefined, 'the revision is 0, not 1');
      const binary = new Uint8Array([0, 255, 10, 13, 0xc3]);
      const rev = await a.policies.write(
        [
          { key: 'role:admin', value: bytes('A') },
          { key: 'actor:é ü', value: binary },
        ],
        0,
      );
      assert.ok(rev !== undefined && Number.isSafeInteger(rev) && rev > 0, `revision ${rev}`);
      assert.equal(await b.policies.revision(), rev);
      const snapshot = await b.policies.snapshot();
      assert.equal(snapshot.revision, rev);
      const byKey = new Map(snapshot.records.map((r) => [r.key, r.value]));
      assert.equal(text(byKey.get('role:admin')!), 'A');
      assert.deepEqual([...byKey.get('actor:é ü')!], [...binary]);
    });

    it('puts and removes in one write; a write against a stale revision changes nothing', async () => {
      const start = await a.policies.revision();
      const rev = await b.policies.write(
        [
          { key: 'role:admin', value: undefined },
          { key: 'role:viewer', value: bytes('V') },
          { key: 'missing', value: undefined },
        ],
        start,
      );
      assert.equal(rev, start + 1);
      assert.equal(await a.policies.write([{ key: 'x', value: bytes('x') }], start), undefined);
      const snapshot = await a.policies.snapshot();
      assert.equal(snapshot.revision, start + 1);
      assert.equal(asMap(snapshot)['x'], undefined);
      assert.equal(asMap(snapshot)['role:admin'], undefined);
      assert.equal(asMap(snapshot)['role:viewer'], 'V');
      // An empty write still bumps the revision (it is a write: caches revalidate).
      assert.equal(await a.policies.write([], start + 1), start + 2);
    });

    it('loses no change when two nodes write at once with read-compute-write retries', async () => {
      const increment = async (node: Backend): Promise<void> => {
        for (;;) {
          const snapshot = await node.policies.snapshot();
          const current = Number(asMap(snapshot)['counter'] ?? '0');
          const written = await node.policies.write(
            [{ key: 'counter', value: bytes(String(current + 1)) }],
            snapshot.revision,
          );
          if (written !== undefined) return;
        }
      };
      const before = await a.policies.revision();
      await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 ? a : b)));
      const snapshot = await a.policies.snapshot();
      assert.equal(asMap(snapshot)['counter'], '20');
      assert.equal(snapshot.revision, before + 20);
    });

    it('keeps stored bytes from the caller: changing a written array changes nothing stored', async () => {
      const value = bytes('same');
      await a.policies.write([{ key: 'copied', value }], await a.policies.revision());
      value[0] = 0x58;
      assert.equal(asMap(await b.policies.snapshot())['copied'], 'same');
    });
  });
}
