import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Backend, FeedEntry, FeedRetention } from '../../src/backends/ports.js';
import { bytes, text, until, type BackendHarness, type HarnessFactory } from './harness.js';

const KEEP: FeedRetention = { maxChanges: 10_000, maxAgeMs: 3_600_000 };

/** The ChangeFeedStore port contract (see src/backends/ports.ts), on two nodes of one cluster. */
export function feedConformance(name: string, factory: HarnessFactory): void {
  describe(`ChangeFeedStore conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    const fresh = (): string => `feed-${randomBytes(4).toString('hex')}`;

    before(async () => {
      harness = await factory();
      a = await harness.create();
      b = await harness.create();
      await Promise.all([a.start(), b.start()]);
    });
    after(async () => harness.cleanup());

    it('assigns seq 1, 2, 3... and non-decreasing timestamps; reads after a seq, in order', async () => {
      const c = fresh();
      const appended: FeedEntry[] = [];
      for (let i = 0; i < 30; i++)
        appended.push(await (i % 2 ? a : b).feeds.append(c, bytes(`v${i}`), KEEP));
      assert.deepEqual(
        appended.map((e) => e.seq),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      for (let i = 1; i < 30; i++)
        assert.ok(
          appended[i]!.timestamp >= appended[i - 1]!.timestamp,
          'timestamps never decrease',
        );
      assert.ok(Math.abs(appended[29]!.timestamp - Date.now()) < 5000, 'timestamps are epoch ms');
      const read = await b.feeds.read(c, 10, 5);
      assert.deepEqual(
        read.map((e) => [e.seq, text(e.data), e.timestamp]),
        appended.slice(10, 15).map((e, i) => [11 + i, `v${10 + i}`, e.timestamp]),
      );
      assert.deepEqual(await a.feeds.read(c, 30, 10), []);
      assert.equal((await a.feeds.read(c, 0, 100)).length, 30);
      assert.equal(await a.feeds.lastSeq(c), 30);
      assert.equal(await a.feeds.lastSeq(fresh()), 0);
      assert.deepEqual(await a.feeds.read(fresh(), 0, 10), []);
    });

    it('keeps seqs contiguous under concurrent appends from two nodes', async () => {
      const c = fresh();
      const all = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).feeds.append(c, bytes(`${i}`), KEEP)),
      );
      assert.deepEqual(
        all.map((e) => e.seq).sort((x, y) => x - y),
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      const read = await a.feeds.read(c, 0, 200);
      for (let i = 1; i < read.length; i++) assert.ok(read[i]!.timestamp >= read[i - 1]!.timestamp);
    });

    it('seqBefore finds the seq before the first change at or after a time', async () => {
      const c = fresh();
      assert.equal(await a.feeds.seqBefore(c, Date.now()), 0, 'empty feed');
      const first = await a.feeds.append(c, bytes('1'), KEEP);
      await a.feeds.append(c, bytes('2'), KEEP);
      // Wait for the backend clock to move on (timestamps are its own).
      const t0 = (await a.feeds.read(c, 1, 1))[0]!.timestamp;
      let third: FeedEntry;
      do third = await a.feeds.append(c, bytes('x'), KEEP);
      while (third.timestamp === t0);
      assert.equal(await a.feeds.seqBefore(c, first.timestamp - 1), 0);
      assert.equal(await a.feeds.seqBefore(c, third.timestamp), third.seq - 1);
      assert.equal(await b.feeds.seqBefore(c, third.timestamp + 10_000), third.seq, 'all older');
    });

    it('trims to maxChanges, keeping the newest and their seqs', async () => {
      const c = fresh();
      const retention = { maxChanges: 5, maxAgeMs: 3_600_000 };
      for (let i = 1; i <= 12; i++) await a.feeds.append(c, bytes(`${i}`), retention);
      const kept = await b.feeds.read(c, 0, 100);
      assert.deepEqual(
        kept.map((e) => [e.seq, text(e.data)]),
        [8, 9, 10, 11, 12].map((s) => [s, `${s}`]),
      );
      assert.equal(
        (await a.feeds.append(c, bytes('13'), retention)).seq,
        13,
        'seq survives trimming',
      );
      assert.equal(await a.feeds.seqBefore(c, 0), 8, 'seqBefore starts at the oldest kept');
    });

    it('trims changes older than maxAgeMs on later appends', async () => {
      const c = fresh();
      const retention = { maxChanges: 1000, maxAgeMs: 64 };
      const old = await a.feeds.append(c, bytes('old'), retention);
      await until(async () => Date.now() > old.timestamp + 200, 2000, 'the change to age');
      const last = await a.feeds.append(c, bytes('new'), retention);
      assert.deepEqual(
        (await a.feeds.read(c, 0, 10)).map((e) => e.seq),
        [last.seq],
        'the aged change is gone',
      );
    });

    it('trims by the current maxAgeMs when it was lowered since the last trim', async () => {
      const c = fresh();
      // A host that kept changes for a week, then one (after a restart) that keeps them 64 ms.
      const old = await a.feeds.append(c, bytes('old'), {
        maxChanges: 1000,
        maxAgeMs: 604_800_000,
      });
      await until(async () => Date.now() > old.timestamp + 200, 2000, 'the change to age');
      const last = await a.feeds.append(c, bytes('new'), { maxChanges: 1000, maxAgeMs: 64 });
      assert.deepEqual(
        (await a.feeds.read(c, 0, 10)).map((e) => e.seq),
        [last.seq],
        'the aged change is gone',
      );
    });

    it('notifies watchers on every node, in seq order, with the entry', async () => {
      const c = fresh();
      const heard: { a: number[]; b: number[] } = { a: [], b: [] };
      const subA = await a.feeds.watch(c, (e) => void (e && heard.a.push(e.seq)));
      const subB = await b.feeds.watch(c, (e) => {
        if (e) {
          heard.b.push(e.seq);
          assert.equal(text(e.data), `c${e.seq}`);
        }
      });
      for (let i = 1; i <= 20; i++) await (i % 2 ? a : b).feeds.append(c, bytes(`c${i}`), KEEP);
      const all = Array.from({ length: 20 }, (_, i) => i + 1);
      await until(() => heard.a.length === 20 && heard.b.length === 20, 5000, 'notifications');
      assert.deepEqual(heard.a, all);
      assert.deepEqual(heard.b, all);
      await subB.close();
      await a.feeds.append(c, bytes('c21'), KEEP);
      await until(() => heard.a.length === 21, 5000, 'the notification after b left');
      assert.equal(heard.b.length, 20, 'a closed watch hears nothing');
      await subA.close();
    });

    it('keeps durable named cursors across nodes', async () => {
      const c = fresh();
      assert.equal(await a.feeds.loadCursor(c, 'w1'), undefined);
      await a.feeds.saveCursor(c, 'w1', 42);
      await a.feeds.saveCursor(c, 'w2', 7);
      assert.equal(await b.feeds.loadCursor(c, 'w1'), 42);
      await b.feeds.saveCursor(c, 'w1', 43);
      assert.equal(await a.feeds.loadCursor(c, 'w1'), 43);
      assert.equal(await a.feeds.loadCursor(c, 'w2'), 7);
      assert.equal(await a.feeds.loadCursor(fresh(), 'w1'), undefined, 'per collection');
    });
  });
}
