import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord, Backend } from '../../src/backends/ports.js';
import { bytes, text, type BackendHarness, type HarnessFactory } from './harness.js';

/** Records `from`.. after `prev` (hashes are the writer's business: any 64 hex chars do here). */
function records(from: number, n: number, tag: string): AuditRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    seq: from + i,
    hash: `${tag}-${from + i}`.padEnd(64, '0').slice(0, 64),
    entry: bytes(`{"seq":${from + i},"tag":"${tag}"}`),
  }));
}

/**
 * The AuditStore port contract (see src/backends/ports.ts), on two nodes of one cluster. Each
 * suite gets a fresh cluster (the chain is one per cluster).
 */
export function auditConformance(name: string, factory: HarnessFactory): void {
  describe(`AuditStore conformance: ${name}`, () => {
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

    it('starts empty; appends only at the expected head, with its checkpoint; every node reads the same chain', async () => {
      const empty = await a.audit.head();
      assert.deepEqual(
        { seq: empty.seq, hash: empty.hash, checkpoint: empty.checkpoint },
        { seq: 0, hash: '', checkpoint: undefined },
      );
      assert.deepEqual(empty.start, { seq: 0, hash: '', anchor: undefined });

      const first = records(1, 3, 'a');
      assert.equal(await a.audit.append({ seq: 0, hash: '' }, first, bytes('cp-3')), true);
      // The head moved: the same expectation from another node is refused, nothing written.
      assert.equal(
        await b.audit.append({ seq: 0, hash: '' }, records(1, 1, 'b'), bytes('x')),
        false,
      );
      assert.equal(
        await b.audit.append(
          { seq: 3, hash: 'wrong'.padEnd(64, '0') },
          records(4, 1, 'b'),
          bytes('x'),
        ),
        false,
      );
      const head = await b.audit.head();
      assert.equal(head.seq, 3);
      assert.equal(head.hash, first[2]!.hash);
      assert.equal(text(head.checkpoint!), 'cp-3');

      assert.equal(
        await b.audit.append({ seq: 3, hash: head.hash }, records(4, 2, 'b'), bytes('cp-5')),
        true,
      );
      const all = await a.audit.read(1, 10);
      assert.deepEqual(
        all.map((r) => [r.seq, r.hash, text(r.entry)]),
        [...first, ...records(4, 2, 'b')].map((r) => [r.seq, r.hash, text(r.entry)]),
      );
      assert.deepEqual(
        (await a.audit.read(2, 2)).map((r) => r.seq),
        [2, 3],
      );
      assert.deepEqual(await a.audit.read(6, 5), []);
      assert.equal(text((await a.audit.head()).checkpoint!), 'cp-5');
    });

    it('concurrent writers on two nodes form one linear chain (compare-and-append, retry on conflict)', async () => {
      const start = await a.audit.head();
      const write = async (node: Backend, tag: string, n: number): Promise<void> => {
        for (let done = 0; done < n;) {
          const head = await node.audit.head();
          const batch = records(head.seq + 1, 1 + (done % 3), tag).map((r, i) => ({
            ...r,
            hash: `${tag}${head.seq + 1 + i}`.padEnd(64, '0'),
          }));
          if (await node.audit.append(head, batch, bytes(`${tag}`))) done += batch.length;
        }
      };
      await Promise.all([write(a, 'a', 40), write(b, 'b', 40), write(a, 'c', 40)]);
      const head = await b.audit.head();
      assert.ok(head.seq >= start.seq + 120);
      const chain = await b.audit.read(start.seq + 1, head.seq - start.seq);
      assert.deepEqual(
        chain.map((r) => r.seq),
        Array.from({ length: head.seq - start.seq }, (_, i) => start.seq + 1 + i),
      );
      assert.equal(chain.at(-1)!.hash, head.hash);
    });

    it('trims up to a start whose hash matches, keeping its anchor; refuses a stale or wrong start', async () => {
      const head = await a.audit.head();
      const [at] = await a.audit.read(4, 1);
      assert.equal(await a.audit.trim({ seq: 4, hash: 'nope'.padEnd(64, '0') }, bytes('x')), 0);
      assert.equal(await a.audit.trim({ seq: 4, hash: at!.hash }, bytes('anchor-4')), 4);
      const trimmed = await b.audit.head();
      assert.deepEqual(
        { seq: trimmed.start.seq, hash: trimmed.start.hash, anchor: text(trimmed.start.anchor!) },
        { seq: 4, hash: at!.hash, anchor: 'anchor-4' },
      );
      assert.equal(trimmed.seq, head.seq, 'the head does not move');
      assert.deepEqual(await b.audit.read(1, 4), []);
      assert.deepEqual(
        (await b.audit.read(1, 6)).map((r) => r.seq),
        [5, 6],
      );
      // Not past the current start: nothing happens.
      const [two] = await a.audit.read(5, 1);
      assert.equal(await b.audit.trim({ seq: 4, hash: at!.hash }, bytes('again')), 0);
      assert.equal(await b.audit.trim({ seq: 5, hash: two!.hash }, bytes('anchor-5')), 1);
      assert.equal((await a.audit.head()).start.seq, 5);
      // Appends go on after a trim.
      const now = await a.audit.head();
      assert.equal(await a.audit.append(now, records(now.seq + 1, 1, 'z'), bytes('cp')), true);
    });
  });
}
