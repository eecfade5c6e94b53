import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadLineError, decodeOp, encodeOp } from '../../../src/backends/memory/tx-log-codec.js';
import type { TxOp } from '../../../src/backends/memory/tx-log-ops.js';
import { MemoryTxLogState } from '../../../src/backends/memory/tx-log-state.js';
import { until } from '../../conformance/harness.js';

const parts = [{ resource: 'r', work: new Uint8Array([0, 1, 254, 255]) }];

describe('memory transaction log state', () => {
  it('lets go of finished records when their retention lapses, with no call to trigger it', async () => {
    const state = new MemoryTxLogState();
    for (let i = 0; i < 50; i++) {
      state.open(`t${i}`, 'c', parts, 60_000, Date.now());
      state.finish(`t${i}`, 20 + i, Date.now());
    }
    state.open('open', 'c', parts, 60_000, Date.now());
    assert.equal(state.size, 51);
    await until(() => state.size === 1, 5000, 'the retention timer');
  });

  it('hands out lapsed records in turns, so ones that keep failing do not starve the rest', () => {
    const state = new MemoryTxLogState();
    for (let i = 0; i < 6; i++) state.open(`t${i}`, 'c', parts, 1, 0);
    const turn = (now: number): string[] => state.claimExpired('rec', 10, 2, now).map((r) => r.id);
    assert.deepEqual(turn(100), ['t0', 't1']);
    assert.deepEqual(turn(100), ['t2', 't3']);
    assert.deepEqual(turn(100), ['t4', 't5']);
    // All leases lapse again: the oldest claim comes first.
    assert.deepEqual(turn(200), ['t0', 't1']);
  });

  it('rebuilds the same records from its ops and from a snapshot', () => {
    const ops: TxOp[] = [];
    const live = new MemoryTxLogState((op) => ops.push(op));
    live.open('a', 'c', parts, 1000, 10);
    live.decide('a', 'abort', ['r: no'], 11);
    live.markDone('a', 0, 12);
    live.decide('presumed', 'commit', [], 13);
    live.open('b', 'c', parts, 1000, 14);
    live.renew('b', 'c', 5000, 15);
    live.finish('b', 1e12, 16);
    const replayed = new MemoryTxLogState();
    for (const op of ops) replayed.replay(decodeOp(encodeOp(op).slice(0, -1)));
    const fromSnapshot = new MemoryTxLogState();
    for (const op of live.snapshot(17)) fromSnapshot.replay(decodeOp(encodeOp(op).slice(0, -1)));
    for (const id of ['a', 'presumed', 'b']) {
      assert.deepEqual(replayed.get(id, 17), live.get(id, 17), id);
      assert.deepEqual(fromSnapshot.get(id, 17), live.get(id, 17), id);
    }
    // Replaying a line a snapshot already holds changes nothing.
    for (const op of ops) fromSnapshot.replay(op);
    assert.deepEqual(fromSnapshot.get('a', 17), live.get('a', 17));
  });

  it('refuses lines that are not ops', () => {
    for (const line of [
      '',
      'null',
      '[]',
      '{"o":"open","id":"x"}',
      '{"o":"nope","id":"x"}',
      '{"o":"done","id":"x","index":1.5}',
      '{"o":"decide","id":"x","decision":"maybe","reasons":[],"at":1}',
      '{"o":"open","id":"x","owner":"c","at":1,"until":2,"participants":[["r","%%%"]]}',
    ]) {
      assert.throws(() => decodeOp(line), BadLineError, line);
    }
  });
});
