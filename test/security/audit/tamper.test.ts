import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { encodeAnchor } from '../../../src/security/audit/chain.js';
import type { AuditCore } from '../../../src/security/audit/audit-core.js';
import type { AuditFailure } from '../../../src/security/audit/types.js';
import { KEY, SINKS, type RawRecord, type Sink } from './sinks.js';

const ENTRIES = 8;

async function fill(core: AuditCore): Promise<void> {
  await Promise.all(
    Array.from({ length: ENTRIES }, (_, i) =>
      core.log('billing', {
        action: 'invoice.paid',
        actor: `user-${i}`,
        target: `inv-${i}`,
        metadata: { amount: i * 10 },
      }),
    ),
  );
}

const sha = (prev: string, entry: string): string =>
  createHash('sha256').update(prev).update('\n').update(entry).digest('hex');

/** Swap two records' content, each keeping its place's seq label (and the file's cp field). */
function swap(records: RawRecord[], i: number, j: number): void {
  const a = records[i]!;
  const b = records[j]!;
  [records[i], records[j]] = [
    { ...b, seq: a.seq, cp: a.cp },
    { ...a, seq: b.seq, cp: b.cp },
  ];
}

interface Case {
  readonly what: string;
  readonly reason: AuditFailure;
  readonly seq: number;
  tamper(records: RawRecord[]): { records: RawRecord[]; checkpoint?: Uint8Array };
}

const CASES: Case[] = [
  {
    what: 'an edited entry',
    reason: 'edited',
    seq: 3,
    tamper: (r) => {
      r[2]!.entry = r[2]!.entry.replace('"user-', '"mallory-');
      return { records: r };
    },
  },
  {
    what: 'a deleted entry',
    reason: 'missing',
    seq: 4,
    tamper: (r) => ({ records: r.filter((x) => x.seq !== 4) }),
  },
  {
    what: 'two swapped entries',
    reason: 'out-of-order',
    seq: 5,
    tamper: (r) => {
      swap(r, 4, 5);
      return { records: r };
    },
  },
  {
    what: 'an inserted entry (the rest renumbered)',
    reason: 'inserted',
    seq: 3,
    tamper: (r) => {
      const forged = r[2]!.entry.replace('"user-', '"forged-');
      const shifted = r.map((x) => (x.seq >= 3 ? { ...x, seq: x.seq + 1 } : x));
      shifted.splice(2, 0, { seq: 3, hash: sha(r[1]!.hash, forged), entry: forged });
      return { records: shifted };
    },
  },
  {
    what: 'a cut end (the last two entries deleted)',
    reason: 'truncated',
    seq: ENTRIES - 1,
    tamper: (r) => ({ records: r.slice(0, -2) }),
  },
  {
    what: 'a wholesale rewrite (a valid chain, checkpoint signed without the key)',
    reason: 'bad-checkpoint',
    seq: ENTRIES,
    tamper: (r) => {
      let prev = '';
      const rewritten = r.map((x) => {
        const entry = x.entry.replace('"invoice.paid"', '"invoice.void"');
        prev = sha(prev, entry);
        return { ...x, hash: prev, entry, cp: undefined };
      });
      const last = rewritten.at(-1)!;
      const checkpoint = encodeAnchor(
        'checkpoint',
        last.seq,
        last.hash,
        Buffer.from('x'.repeat(32)),
      );
      rewritten[rewritten.length - 1] = {
        ...last,
        cp: JSON.parse(Buffer.from(checkpoint).toString()),
      };
      return { records: rewritten, checkpoint };
    },
  },
];

for (const [name, factory] of SINKS) {
  void describe(`audit verify on ${name}: tampering is named`, () => {
    const sinks: Sink[] = [];
    after(() => Promise.all(sinks.map((s) => s.cleanup())));
    const fresh = async (): Promise<Sink> => {
      const sink = await factory();
      sinks.push(sink);
      return sink;
    };

    void it('an untouched chain verifies, anchored', async () => {
      const sink = await fresh();
      await fill(await sink.core());
      assert.deepEqual(await (await sink.core()).verify(), {
        ok: true,
        checked: ENTRIES,
        head: ENTRIES,
        anchored: true,
      });
    });

    for (const c of CASES) {
      void it(`${c.what}: first bad entry ${c.seq}, ${c.reason}`, async () => {
        const sink = await fresh();
        await fill(await sink.core());
        const { records, checkpoint } = c.tamper(await sink.read());
        await sink.write(records, checkpoint);
        const result = await (await sink.core()).verify();
        assert.equal(result.ok, false, JSON.stringify(result));
        assert.deepEqual(
          { seq: result.firstBad?.seq, reason: result.firstBad?.reason },
          { seq: c.seq, reason: c.reason },
          result.firstBad?.message,
        );
        assert.ok(result.firstBad!.message.length > 10);
      });
    }

    void it('without a checkpoint key: edits are still caught, a rewrite is not (anchored: false)', async () => {
      const sink = await fresh();
      await fill(await sink.core({}));
      const plain = await (await sink.core({})).verify();
      assert.deepEqual(plain, { ok: true, checked: ENTRIES, head: ENTRIES, anchored: false });
      const records = await sink.read();
      records[0]!.entry = records[0]!.entry.replace('"user-', '"x-');
      await sink.write(records);
      const edited = await (await sink.core({})).verify();
      assert.deepEqual(
        [edited.ok, edited.anchored, edited.firstBad?.seq, edited.firstBad?.reason],
        [false, false, 1, 'edited'],
      );
    });

    // (The file is read once per host, so its writer never sees edits made while it runs.)
    void it(
      'a host that wrote the log catches a rollback even with the checkpoint rolled back too',
      { skip: name === 'file' },
      async () => {
        const sink = await fresh();
        const writer = await sink.core();
        await fill(writer);
        const records = await sink.read();
        const kept = records.slice(0, 5);
        const checkpoint = encodeAnchor('checkpoint', 5, kept[4]!.hash, Buffer.from(KEY));
        await sink.write(kept, checkpoint);
        assert.equal((await (await sink.core()).verify()).ok, true, 'a consistent older state');
        const result = await writer.verify();
        assert.deepEqual([result.firstBad?.seq, result.firstBad?.reason], [6, 'truncated']);
      },
    );
  });
}
