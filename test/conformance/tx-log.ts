import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, TxLogRecord } from '../../src/backends/ports.js';
import { bytes, until, type BackendHarness, type HarnessFactory } from './harness.js';

/** A lease that never lapses during a test, and one that lapses quickly. */
const LONG = 60_000;
const SHORT = 80;
/** Bound of every wait for a lease or a retention to lapse (never a speed requirement). */
const WAIT = 5000;

const invalid = { code: 'PB_VALIDATION' };

function parts(...resources: string[]): { resource: string; work: Uint8Array }[] {
  return resources.map((resource, i) => ({ resource, work: bytes(`${resource}#${i}`) }));
}

const ids = (records: readonly TxLogRecord[]): string[] => records.map((r) => r.id).sort();

/**
 * The TransactionLogStore port contract (see src/backends/ports.ts), on two nodes of one
 * cluster. Backend-neutral: times are the backend's clock, so it only relies on a lease lapsing
 * some time after `leaseMs` and a finished record going some time after its retention.
 */
export function txLogConformance(name: string, factory: HarnessFactory): void {
  describe(`TransactionLogStore conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    let tx: string;
    let n = 0;
    /** A fresh transaction id (unique per test run, so a shared server never mixes runs). */
    const fresh = (): string => `${tx}-${++n}`;
    beforeEach(async () => {
      harness = await factory();
      a = await harness.create();
      b = await harness.create();
      await a.start();
      await b.start();
      tx = `tx:${Math.random().toString(36).slice(2, 10)}`;
    });
    afterEach(() => harness.cleanup());

    it('records an open transaction that every node reads back', async () => {
      const id = fresh();
      const before = Date.now();
      await a.transactions.open(id, 'coord-a', parts('inventory', 'billing'), LONG);
      const record = await b.transactions.get(id);
      assert.ok(record !== undefined, 'visible on the other node');
      assert.equal(record.id, id);
      assert.equal(record.coordinator, 'coord-a');
      assert.equal(record.decision, undefined);
      assert.deepEqual(record.reasons, []);
      assert.equal(record.finished, false);
      assert.equal(record.leaseOwner, 'coord-a');
      // The backend's clock: near this process's (generous bounds, never a speed requirement).
      assert.ok(Math.abs(record.createdAt - before) < 30_000, `createdAt ${record.createdAt}`);
      assert.ok(record.leaseUntil - record.createdAt >= LONG - 1000, 'leased for leaseMs');
      assert.deepEqual(
        record.participants.map((p) => [p.resource, Buffer.from(p.work).toString(), p.done]),
        [
          ['inventory', 'inventory#0', false],
          ['billing', 'billing#1', false],
        ],
      );
      assert.equal(await a.transactions.get(fresh()), undefined, 'an unknown id');
    });

    it('refuses to open an id twice, from any node', async () => {
      const id = fresh();
      await a.transactions.open(id, 'coord-a', parts('r'), LONG);
      await assert.rejects(a.transactions.open(id, 'coord-a', parts('r'), LONG), invalid);
      await assert.rejects(b.transactions.open(id, 'coord-b', parts('r'), LONG), invalid);
      assert.equal((await a.transactions.get(id))?.coordinator, 'coord-a');
    });

    it('round-trips payload bytes exactly, and keeps its own copy', async () => {
      const id = fresh();
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = new Uint8Array(64 * 1024).map((_, i) => (i * 31) & 0xff);
      const given = [
        { resource: 'all-bytes', work: every },
        { resource: 'empty', work: new Uint8Array(0) },
        { resource: 'big', work: big },
        // A view into a larger buffer: only the view's bytes count.
        { resource: 'view', work: new Uint8Array(every.buffer, 10, 5) },
      ];
      await a.transactions.open(id, 'c', given, LONG);
      every[0] = 99; // the caller changing its buffer afterwards changes nothing stored
      const first = await b.transactions.get(id);
      assert.ok(first !== undefined);
      assert.deepEqual(
        first.participants.map((p) => [...p.work]),
        [Array.from({ length: 256 }, (_, i) => i), [], [...big], [10, 11, 12, 13, 14]],
      );
      first.participants[0]!.work[1] = 77; // nor does a reader changing what it got
      const again = await a.transactions.get(id);
      assert.equal(again?.participants[0]?.work[1], 1);
      assert.ok(again?.participants[0]?.work instanceof Uint8Array);
    });

    it('keeps the first decision: a later one gets the decision on record', async () => {
      const id = fresh();
      await a.transactions.open(id, 'c', parts('r'), LONG);
      assert.equal(await a.transactions.decide(id, 'commit', []), 'commit');
      assert.equal(await b.transactions.decide(id, 'abort', ['late']), 'commit');
      assert.equal(await a.transactions.decide(id, 'commit', []), 'commit');
      const record = await b.transactions.get(id);
      assert.equal(record?.decision, 'commit');
      assert.deepEqual(record?.reasons, []);

      const aborted = fresh();
      await b.transactions.open(aborted, 'c', parts('r', 's'), LONG);
      const reasons = ['r: voted no', 's: prepare timed out'];
      assert.equal(await b.transactions.decide(aborted, 'abort', reasons), 'abort');
      assert.equal(await a.transactions.decide(aborted, 'commit', []), 'abort');
      assert.deepEqual((await a.transactions.get(aborted))?.reasons, reasons);
    });

    it('lets exactly one of two racing decisions win, and both nodes learn it', async () => {
      for (let round = 0; round < 20; round++) {
        const id = fresh();
        await a.transactions.open(id, 'c', parts('r'), LONG);
        const askA = round % 2 ? 'commit' : 'abort';
        const askB = round % 2 ? 'abort' : 'commit';
        const why = (d: string, who: string): string[] => (d === 'abort' ? [who] : []);
        const [fromA, fromB] = await Promise.all([
          a.transactions.decide(id, askA, why(askA, 'a')),
          b.transactions.decide(id, askB, why(askB, 'b')),
        ]);
        assert.equal(fromA, fromB, `round ${round}: both see one decision`);
        const record = await a.transactions.get(id);
        assert.equal(record?.decision, fromA);
        assert.deepEqual(record?.reasons, why(fromA, fromA === askA ? 'a' : 'b'));
      }
    });

    it('records a presumed abort for an id it has no record of', async () => {
      const id = fresh();
      assert.equal(await a.transactions.decide(id, 'commit', []), 'abort');
      assert.equal(await b.transactions.decide(id, 'commit', []), 'abort', 'the abort holds');
      assert.equal((await b.transactions.get(id))?.decision, 'abort');
      // A coordinator that only now tries to open it finds it recorded (aborted).
      await assert.rejects(a.transactions.open(id, 'slow', parts('r'), LONG), invalid);
    });

    it('marks a participant done once (idempotent), racing nodes included', async () => {
      const id = fresh();
      await a.transactions.open(id, 'c', parts('r', 's'), LONG);
      await a.transactions.decide(id, 'commit', []);
      assert.equal(await a.transactions.markDone(id, 1), true);
      assert.equal(await b.transactions.markDone(id, 1), false);
      const record = await b.transactions.get(id);
      assert.deepEqual(
        record?.participants.map((p) => p.done),
        [false, true],
      );
      const raced = await Promise.all([
        a.transactions.markDone(id, 0),
        b.transactions.markDone(id, 0),
        a.transactions.markDone(id, 0),
      ]);
      assert.equal(raced.filter(Boolean).length, 1, `exactly one marked it: ${raced.join()}`);
      assert.equal(await a.transactions.markDone(fresh(), 0), false, 'no record');
      assert.equal((await a.transactions.get(id))?.finished, false, 'done is not finished');
    });

    it('keeps a finished record for its retention, then removes it', async () => {
      const id = fresh();
      await a.transactions.open(id, 'c', parts('r'), SHORT);
      await a.transactions.decide(id, 'commit', []);
      await a.transactions.markDone(id, 0);
      await a.transactions.finish(id, 150);
      const record = await b.transactions.get(id);
      assert.equal(record?.finished, true, 'late lookups still see it');
      assert.equal(record?.decision, 'commit');
      await a.transactions.finish(id, 150); // again: changes nothing
      await a.transactions.finish(fresh(), 10); // unknown: nothing to do
      // Finished records are never recovered, even once their lease lapsed.
      await until(async () => (await b.transactions.get(id)) === undefined, WAIT, 'removal');
      assert.deepEqual(await b.transactions.claimExpired('rec', LONG, 100), []);
      assert.deepEqual(await b.transactions.unfinishedFor('r', 100), []);

      const gone = fresh();
      await a.transactions.open(gone, 'c', parts('r'), LONG);
      await a.transactions.finish(gone, 0);
      await until(async () => (await a.transactions.get(gone)) === undefined, WAIT, 'no retention');
    });

    it('renews a lease only for its holder', async () => {
      const id = fresh();
      await a.transactions.open(id, 'coord', parts('r'), 1000);
      const first = (await a.transactions.get(id))!.leaseUntil;
      assert.equal(await a.transactions.renew(id, 'coord', LONG), true);
      const renewed = await b.transactions.get(id);
      assert.ok(renewed!.leaseUntil > first, 'lease extended');
      assert.equal(renewed!.leaseOwner, 'coord');
      assert.equal(await b.transactions.renew(id, 'someone-else', LONG), false);
      assert.equal((await a.transactions.get(id))!.leaseOwner, 'coord');
      assert.equal(await a.transactions.renew(fresh(), 'coord', LONG), false, 'no record');
    });

    it('hands a lapsed record to one claimer, and the old owner can no longer renew', async () => {
      const id = fresh();
      await a.transactions.open(id, 'coord', parts('r'), SHORT);
      const leased = fresh();
      await a.transactions.open(leased, 'coord', parts('r'), LONG);
      const claimed = await (async () => {
        let got: TxLogRecord[][] = [];
        await until(
          async () => {
            got = await Promise.all([
              a.transactions.claimExpired('rec-a', LONG, 10),
              b.transactions.claimExpired('rec-b', LONG, 10),
            ]);
            return got.some((list) => list.length > 0);
          },
          WAIT,
          'the lease to lapse',
        );
        return got;
      })();
      const all = claimed.flat();
      assert.deepEqual(ids(all), [id], 'one claimer got it, the leased one stays');
      const winner = claimed[0]!.length === 1 ? 'rec-a' : 'rec-b';
      assert.equal(all[0]!.leaseOwner, winner);
      assert.ok(all[0]!.leaseUntil > Date.now() + LONG / 2, 'leased to the claimer for leaseMs');
      assert.equal((await b.transactions.get(id))?.leaseOwner, winner);
      // While the new lease runs, nobody else gets it; the old owner has lost it.
      assert.deepEqual(await a.transactions.claimExpired('rec-c', LONG, 10), []);
      assert.deepEqual(await b.transactions.claimExpired('rec-d', LONG, 10), []);
      assert.equal(await a.transactions.renew(id, 'coord', LONG), false);
      assert.equal(await b.transactions.renew(id, winner, LONG), true);
      assert.equal((await a.transactions.get(leased))?.leaseOwner, 'coord');
    });

    it('never gives one record to two nodes claiming concurrently', async () => {
      const opened: string[] = [];
      for (let i = 0; i < 12; i++) {
        const id = fresh();
        opened.push(id);
        await (i % 2 ? a : b).transactions.open(id, 'dead', parts('r'), SHORT);
      }
      await until(
        async () => {
          const r = await a.transactions.get(opened.at(-1)!);
          return r !== undefined && r.leaseUntil <= Date.now() - 50;
        },
        WAIT,
        'the leases to lapse',
      );
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? a : b).transactions.claimExpired(`claimer-${i}`, LONG, 3),
        ),
      );
      for (const list of results) assert.ok(list.length <= 3, 'at most limit each');
      const claimed = results.flat();
      assert.deepEqual(ids(claimed), [...opened].sort(), 'each record claimed exactly once');
      for (const [i, list] of results.entries())
        for (const r of list) assert.equal(r.leaseOwner, `claimer-${i}`);
      assert.deepEqual(await a.transactions.claimExpired('late', LONG, 100), []);
    });

    it('claims decided records too, with their decision and done marks', async () => {
      const id = fresh();
      await a.transactions.open(id, 'dead', parts('r', 's'), SHORT);
      await a.transactions.decide(id, 'commit', []);
      await a.transactions.markDone(id, 0);
      let got: TxLogRecord[] = [];
      await until(
        async () => (got = await b.transactions.claimExpired('rec', LONG, 10)).length > 0,
        WAIT,
        'the lease to lapse',
      );
      assert.equal(got.length, 1);
      assert.equal(got[0]!.decision, 'commit');
      assert.deepEqual(
        got[0]!.participants.map((p) => [p.resource, p.done]),
        [
          ['r', true],
          ['s', false],
        ],
      );
      assert.deepEqual(await b.transactions.claimExpired('rec', LONG, 0), [], 'limit 0');
    });

    it('lists unfinished records naming a resource', async () => {
      const [one, two, three, done] = [fresh(), fresh(), fresh(), fresh()];
      await a.transactions.open(one, 'c', parts('inv', 'bill'), LONG);
      await b.transactions.open(two, 'c', parts('bill'), LONG);
      await a.transactions.open(three, 'c', parts('inv'), LONG);
      await a.transactions.open(done, 'c', parts('bill'), LONG);
      await a.transactions.finish(done, LONG);
      const bill = await b.transactions.unfinishedFor('bill', 100);
      assert.deepEqual(ids(bill), [one, two].sort());
      assert.deepEqual(ids(await a.transactions.unfinishedFor('inv', 100)), [one, three].sort());
      assert.equal((await a.transactions.unfinishedFor('bill', 1)).length, 1, 'limit');
      assert.deepEqual(await a.transactions.unfinishedFor('nobody', 100), []);
      const record = bill.find((r) => r.id === one)!;
      assert.equal(record.participants.length, 2, 'whole records');
    });

    it('rejects (never throws) malformed arguments with ValidationError', async () => {
      const id = fresh();
      await a.transactions.open(id, 'c', parts('r'), LONG);
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['open: empty id', () => a.transactions.open('', 'c', parts('r'), LONG)],
        ['open: empty owner', () => a.transactions.open(fresh(), '', parts('r'), LONG)],
        ['open: lease 0', () => a.transactions.open(fresh(), 'c', parts('r'), 0)],
        ['open: NaN lease', () => a.transactions.open(fresh(), 'c', parts('r'), Number.NaN)],
        ['open: empty resource', () => a.transactions.open(fresh(), 'c', parts(''), LONG)],
        [
          'open: work not bytes',
          () =>
            a.transactions.open(
              fresh(),
              'c',
              [{ resource: 'r', work: 'x' as unknown as Uint8Array }],
              LONG,
            ),
        ],
        [
          'decide: bad decision',
          () => a.transactions.decide(id, 'maybe' as unknown as 'commit', []),
        ],
        ['markDone: negative index', () => a.transactions.markDone(id, -1)],
        ['markDone: fractional index', () => a.transactions.markDone(id, 0.5)],
        ['finish: negative retention', () => a.transactions.finish(id, -1)],
        ['renew: lease 0', () => a.transactions.renew(id, 'c', 0)],
        ['claimExpired: negative limit', () => a.transactions.claimExpired('c', LONG, -1)],
        ['unfinishedFor: empty resource', () => a.transactions.unfinishedFor('', 10)],
        ['get: empty id', () => a.transactions.get('')],
      ];
      for (const [what, call] of calls) {
        let result: unknown;
        assert.doesNotThrow(() => (result = call()), `${what} threw synchronously`);
        await assert.rejects(result as Promise<unknown>, invalid, what);
      }
      // Nothing above changed the record.
      const record = await a.transactions.get(id);
      assert.equal(record?.decision, undefined);
      assert.equal(record?.finished, false);
    });

    it('rejects every call once its backend is closed, and the others still work', async () => {
      const id = fresh();
      await a.transactions.open(id, 'c', parts('r'), LONG);
      await a.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['open', () => a.transactions.open(fresh(), 'c', parts('r'), LONG)],
        ['decide', () => a.transactions.decide(id, 'commit', [])],
        ['markDone', () => a.transactions.markDone(id, 0)],
        ['finish', () => a.transactions.finish(id, 0)],
        ['get', () => a.transactions.get(id)],
        ['renew', () => a.transactions.renew(id, 'c', LONG)],
        ['claimExpired', () => a.transactions.claimExpired('c', LONG, 10)],
        ['unfinishedFor', () => a.transactions.unfinishedFor('r', 10)],
      ];
      for (const [what, call] of calls) {
        let result: unknown;
        assert.doesNotThrow(() => (result = call()), `${what} threw synchronously`);
        await assert.rejects(result as Promise<unknown>, { code: 'PB_BACKEND_UNAVAILABLE' }, what);
      }
      // The log outlives the node: the other node still reads and decides.
      assert.equal(await b.transactions.decide(id, 'commit', []), 'commit');
      assert.equal((await b.transactions.get(id))?.decision, 'commit');
    });
  });
}
