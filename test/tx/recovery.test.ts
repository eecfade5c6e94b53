/**
 * Recovery and the decision on record: presumed abort, finishing decided transactions, the race
 * between a recovering node and a slow coordinator, a decision that cannot be recorded, and the
 * loop running on start and periodically.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCodec } from '../../src/codec/codec.js';
import { PRESUMED_ABORT } from '../../src/tx/recovery.js';
import type { TransactionParticipant } from '../../src/tx/types.js';
import type { FakeTxLog } from './fake-tx-log.js';
import { alive } from '../lock/lock-support.js';
import { reasonsOf, recordingResource, twoNodes, txNode, type TxNode } from './tx-support.js';

const codec = createCodec();

/** A transaction left by a coordinator that died (its lease lapsed), optionally decided. */
async function orphan(
  store: FakeTxLog,
  id: string,
  resources: string[],
  decision?: 'commit' | 'abort',
): Promise<void> {
  const entries = resources.map((resource) => ({ resource, work: codec.encode({ id }) }));
  await store.open(id, 'dead-node', entries, 1);
  if (decision !== undefined) await store.decide(id, decision, []);
  store.skew += 10;
}

/** Resolves when the store is asked to `operation` on `id`. */
function when(store: FakeTxLog, operation: string, id: string): Promise<void> {
  return new Promise((resolve) => {
    const previous = store.before;
    store.before = async (op, target) => {
      await previous?.(op, target);
      if (op === operation && target === id) resolve();
    };
  });
}

/** A participant object that notes each call in `calls` (and `onRollback`, if given, after). */
function localParticipant(calls: string[], onRollback?: () => void): TransactionParticipant {
  return {
    name: 'local',
    prepare: () => void calls.push('prepare'),
    commit: () => void calls.push('commit'),
    rollback: () => {
      calls.push('rollback');
      onRollback?.();
    },
  };
}

describe('transaction recovery', () => {
  let cluster: Awaited<ReturnType<typeof twoNodes>>;
  let store: FakeTxLog;
  let a: TxNode;
  let b: TxNode;
  beforeEach(async () => ({ store, a, b } = cluster = await twoNodes()));
  afterEach(() => cluster.close());

  it('aborts a transaction with no decision (presumed abort) and rolls its participants back', async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    await orphan(store, 'tx-1', ['inventory', 'inventory']);
    const report = await a.ctx('any').transactionManager.recover();
    assert.deepEqual(report, { examined: 1, committed: 0, aborted: 1, pending: 0 });
    assert.deepEqual(res.rolledBack, ['tx-1', 'tx-1']);
    assert.ok(res.infos.every((i) => i.redelivered));
    const record = store.records.get('tx-1')!;
    assert.equal(record.decision, 'abort');
    assert.deepEqual(record.reasons, [PRESUMED_ABORT]);
    assert.ok(record.finished);
    assert.equal(await a.ctx('any').transactionManager.outcome('tx-1'), 'aborted');
  });

  it('finishes a decided commit, and leaves an unreachable participant for a later pass', async () => {
    const res = recordingResource();
    await orphan(store, 'tx-2', ['inventory'], 'commit');
    const first = await a.ctx('any').transactionManager.recover();
    assert.deepEqual(first, { examined: 1, committed: 0, aborted: 0, pending: 1 });
    assert.equal(await a.ctx('any').transactionManager.outcome('tx-2'), 'committed');
    // The participant comes back and learns the outcome at once; the next pass finishes.
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    assert.deepEqual(res.committed, ['tx-2']);
    store.skew += 60_000;
    const second = await a.ctx('any').transactionManager.recover();
    assert.deepEqual(second, { examined: 1, committed: 1, aborted: 0, pending: 0 });
    assert.deepEqual(res.committed, ['tx-2'], 'committed once');
  });

  it("a recovering node's presumed abort beats a slow coordinator: it rolls back and rejects", async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    const tx = await a.ctx('orders').transactionManager.begin();
    tx.enlist('inventory');
    // Every participant prepared; the coordinator stalls before its decision is written (as if
    // its process hung) while recovery takes over.
    let stalled!: () => void;
    const isStalled = new Promise<void>((resolve) => (stalled = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    store.before = async (operation, id) => {
      if (operation !== 'decide' || id !== tx.id) return;
      store.before = undefined;
      stalled();
      await resumed;
    };
    const committing = tx.commit();
    await isStalled;
    assert.deepEqual(res.prepared, [tx.id]);
    store.skew += 60_000; // its lease lapsed
    const report = await b.ctx('stock').transactionManager.recover();
    assert.deepEqual(report, { examined: 1, committed: 0, aborted: 1, pending: 0 });
    assert.deepEqual(res.rolledBack, [tx.id]);
    resume();
    const error = await committing.then(
      () => assert.fail('must not commit'),
      (e: unknown) => e,
    );
    assert.equal((error as { code: string }).code, 'PB_TX_ABORTED');
    assert.deepEqual(
      reasonsOf(error).map((r) => r.kind),
      ['recovered'],
    );
    assert.equal(tx.state, 'aborted');
    assert.deepEqual(res.committed, []);
    assert.deepEqual(res.rolledBack, [tx.id], 'the repeated rollback was skipped');
    assert.equal(await a.ctx('orders').transactionManager.outcome(tx.id), 'aborted');
  });

  it('a decision that cannot be recorded leaves the transaction in doubt for recovery', async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    store.before = (operation) => {
      if (operation === 'decide') throw new Error('backend away');
    };
    const tx = await a.ctx('orders').transactionManager.begin();
    tx.enlist('inventory');
    await assert.rejects(tx.commit(), (e: { code: string; details: { state: string } }) => {
      assert.equal(e.code, 'PB_TX_STATE');
      assert.equal(e.details.state, 'in-doubt');
      return true;
    });
    assert.equal(tx.state, 'in-doubt');
    await assert.rejects(tx.rollback(), { code: 'PB_TX_STATE' });
    store.before = undefined;
    assert.equal(await a.ctx('orders').transactionManager.outcome(tx.id), 'in-doubt');
    store.skew += 60_000;
    await a.ctx('orders').transactionManager.recover();
    assert.equal(await a.ctx('orders').transactionManager.outcome(tx.id), 'aborted');
    assert.deepEqual(res.rolledBack, [tx.id]);
    assert.deepEqual(res.committed, []);
  });

  it('the objects of a transaction in doubt are told its outcome once the log has one', async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    const c = await txNode(cluster.network, store, { recoveryInterval: 50 });
    try {
      let rolledBack!: () => void;
      const told = new Promise<void>((resolve) => (rolledBack = resolve));
      const local: string[] = [];
      store.before = (operation) => {
        if (operation === 'decide') throw new Error('backend away');
      };
      const tx = await c.ctx('orders').transactionManager.begin();
      tx.enlist(localParticipant(local, rolledBack));
      tx.enlist('inventory');
      await assert.rejects(tx.commit(), { code: 'PB_TX_STATE' });
      store.before = undefined;
      store.skew += 60_000;
      // Recovery presumes abort; the coordinator reads it and lets its object go.
      await told;
      assert.deepEqual(local, ['prepare', 'rollback']);
      assert.equal(await c.ctx('orders').transactionManager.outcome(tx.id), 'aborted');
    } finally {
      await c.close();
    }
  });

  /** Commit a local object and 'inventory' while the log fails `operation`; its rejection. */
  async function commitWhileFailing(operation: string) {
    const local: string[] = [];
    store.before = (op) => {
      if (op === operation) throw new Error('backend away');
    };
    try {
      const tx = await a.ctx('orders').transactionManager.begin();
      tx.enlist(localParticipant(local));
      tx.enlist('inventory');
      const error = await tx.commit().then(
        () => assert.fail('committed'),
        (e: { code: string }) => e,
      );
      return { tx, local, error };
    } finally {
      store.before = undefined;
    }
  }

  it('an abort the log cannot record still rejects as aborted and releases the objects at once', async () => {
    const res = recordingResource();
    res.vote = () => ({ status: 'refused', reason: 'out of stock' });
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    // Only a commit could be in doubt: this coordinator never asked for one.
    const { tx, local, error } = await commitWhileFailing('decide');
    assert.equal(error.code, 'PB_TX_ABORTED');
    assert.deepEqual(
      reasonsOf(error).map((r) => r.kind),
      ['refused'],
    );
    assert.equal(tx.state, 'aborted');
    assert.deepEqual(local, ['prepare', 'rollback']);
    assert.equal(await a.ctx('orders').transactionManager.outcome(tx.id), 'aborted');
    // The named resource hears it from recovery (no decision on record: presumed abort).
    store.skew += 60_000;
    await a.ctx('orders').transactionManager.recover();
    assert.deepEqual(res.rolledBack, [tx.id]);
    assert.equal(await a.ctx('orders').transactionManager.outcome(tx.id), 'aborted');
  });

  it('a log that cannot open the record aborts before any prepare, like any other abort', async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    const { tx, local, error } = await commitWhileFailing('open');
    assert.equal(error.code, 'PB_TX_ABORTED');
    assert.deepEqual(
      reasonsOf(error).map((r) => r.participant),
      ['transaction log'],
    );
    assert.deepEqual(res.prepared, []);
    assert.deepEqual(local, ['rollback']);
    assert.equal(tx.state, 'aborted');
    assert.ok(tx.signal.aborted, 'the signal fires on every abort');
    assert.equal(await a.ctx('orders').transactionManager.outcome(tx.id), 'aborted');
  });

  it('a pass stops at the next transaction once its host closes', async () => {
    let rollbackStarted!: () => void;
    const started = new Promise<void>((resolve) => (rollbackStarted = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await b.ctx('stock').transactionManager.registerResource('inventory', {
      prepare: () => undefined,
      commit: () => undefined,
      rollback: async (_work, info) => {
        if (info.transactionId !== 'first') return;
        rollbackStarted();
        await gate;
      },
    }).ready;
    const c = await txNode(cluster.network, store, { recoveryInterval: 600_000 });
    await orphan(store, 'first', ['inventory']);
    await orphan(store, 'second', ['inventory']);
    const pass = c.ctx('any').transactionManager.recover();
    await started;
    const closing = c.close();
    release();
    await closing;
    await pass.catch(() => undefined);
    assert.ok(!store.calls.includes('decide:second'), 'a closed host took no more transactions');
    assert.equal(store.records.get('second')!.decision, undefined);
  });

  it('runs on start and every recoveryInterval', async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    await orphan(store, 'on-start', ['inventory'], 'commit');
    const finishedOnStart = when(store, 'finish', 'on-start');
    const c = await txNode(cluster.network, store, { recoveryInterval: 20 });
    try {
      // The loop's timer is unref'd (recovery never keeps a process alive): keep this one up.
      await alive(finishedOnStart);
      assert.deepEqual(res.committed, ['on-start']);
      const finishedLater = when(store, 'finish', 'later');
      await orphan(store, 'later', ['inventory']);
      await alive(finishedLater);
      assert.deepEqual(res.rolledBack, ['later']);
    } finally {
      await c.close();
    }
  });
});
