/**
 * Named resources across two in-process nodes: phase messages over the cluster, the coordinator
 * log, phase-two retries, repeats skipped, and a participant that restarts learning the outcome.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FakeTxLog } from './fake-tx-log.js';
import {
  reasonsOf,
  recordingResource,
  twoNodes,
  txCluster,
  txNode,
  type TxNode,
} from './tx-support.js';

describe('named transaction resources across nodes', () => {
  let cluster: Awaited<ReturnType<typeof twoNodes>>;
  let store: FakeTxLog;
  let a: TxNode;
  let b: TxNode;
  beforeEach(async () => ({ store, a, b } = cluster = await twoNodes()));
  afterEach(() => cluster.close());

  it('commits on another node: open before prepare, decision before phase two, then finish', async () => {
    const inventory = recordingResource();
    const works: unknown[] = [];
    const registration = b.ctx('stock').transactionManager.registerResource('inventory', {
      ...inventory.resource,
      prepare: (work, info) => {
        works.push(work);
        return inventory.resource.prepare(work, info);
      },
    });
    await registration.ready;
    assert.equal(b.scoped('stock').holdings().registrations, 1);
    const tx = await a.ctx('orders').transactionManager.begin();
    tx.enlist('inventory', { sku: 'X1', quantity: 2 });
    await tx.commit();
    assert.deepEqual(works, [{ sku: 'X1', quantity: 2 }]);
    assert.deepEqual(inventory.committed, [tx.id]);
    const order = store.calls.filter((c) => c.endsWith(tx.id)).map((c) => c.split(':')[0]);
    assert.deepEqual(order, ['open', 'decide', 'markDone', 'finish']);
    const record = store.records.get(tx.id)!;
    assert.equal(record.decision, 'commit');
    assert.ok(record.finished && record.participants[0]!.done);
    assert.equal(await b.ctx('stock').transactionManager.outcome(tx.id), 'committed');
  });

  it('a refusal and an unknown resource abort it with both reasons; the other prepared one rolls back', async () => {
    const yes = recordingResource();
    const no = recordingResource();
    no.vote = () => ({ status: 'aborted', reason: 'credit limit' });
    await b.ctx('p1').transactionManager.registerResource('ledger', yes.resource).ready;
    await b.ctx('p2').transactionManager.registerResource('credit', no.resource).ready;
    const tx = await a.ctx('orders').transactionManager.begin();
    tx.enlist('ledger', 1);
    tx.enlist('credit', 2);
    tx.enlist('nowhere', 3);
    const error = await tx.commit().then(
      () => assert.fail('aborts'),
      (e: unknown) => e,
    );
    assert.deepEqual(
      reasonsOf(error).map((r) => [r.participant, r.kind, r.code]),
      [
        ['credit', 'refused', undefined],
        ['nowhere', 'error', 'PB_SERVICE_UNAVAILABLE'],
      ],
    );
    assert.deepEqual(yes.rolledBack, [tx.id]);
    assert.deepEqual(no.rolledBack, [tx.id]);
    assert.equal(store.records.get(tx.id)!.decision, 'abort');
    assert.equal(await a.ctx('orders').transactionManager.outcome(tx.id), 'aborted');
  });

  it('a resource that does not answer prepare in time aborts it as a timeout', async () => {
    const slow = recordingResource();
    slow.vote = () => new Promise(() => undefined);
    await b.ctx('slow').transactionManager.registerResource('slow', slow.resource).ready;
    const tx = await a.ctx('orders').transactionManager.begin({ timeout: 100 });
    tx.enlist('slow');
    await assert.rejects(tx.commit(), (e: unknown) => {
      const [reason] = reasonsOf(e);
      assert.equal(reason!.kind, 'timeout');
      assert.equal(reason!.participant, 'slow');
      return true;
    });
  });

  it('retries commit until the resource acknowledges, marking retries as redelivered', async () => {
    const flaky = recordingResource();
    flaky.failCommit = 2;
    await b.ctx('flaky').transactionManager.registerResource('flaky', flaky.resource).ready;
    const tx = await a.ctx('orders').transactionManager.begin();
    tx.enlist('flaky');
    await tx.commit();
    assert.deepEqual(flaky.committed, [tx.id]);
    assert.deepEqual(flaky.infos, [{ phase: 'commit', redelivered: true }]);
  });

  it('skips a repeated commit: remembered on the node, or marked done in the log', async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    const tx = await a.ctx('orders').transactionManager.begin();
    tx.enlist('inventory', 'w');
    await tx.commit();
    const message = [{ id: tx.id, index: 0, work: 'w', redelivered: true }];
    await a.ctx('orders').rpcClient.call('$tx.inventory', 'commit', message);
    assert.deepEqual(res.committed, [tx.id], 'the node remembered it');
    // A node that never saw it reads the log's done flag.
    const c = await txNode(cluster.network, store);
    try {
      const fresh = recordingResource();
      await b.stopPlugin('stock');
      await c.ctx('stock').transactionManager.registerResource('inventory', fresh.resource).ready;
      await a.ctx('orders').rpcClient.call('$tx.inventory', 'commit', message);
      assert.deepEqual(fresh.committed, []);
    } finally {
      await c.close();
    }
  });

  it('phase two waits for a resource that comes back', async () => {
    const res = recordingResource();
    const patient = await txCluster(2, { store, settings: { leaseMs: 10_000 } });
    try {
      const [x, y] = patient.nodes as [TxNode, TxNode];
      await y.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
      // Gone before phase two, back a little later: the coordinator keeps retrying.
      store.before = async (operation) => {
        if (operation !== 'decide') return;
        store.before = undefined;
        await y.stopPlugin('stock');
        setTimeout(
          () => y.ctx('stock-2').transactionManager.registerResource('inventory', res.resource),
          50,
        );
      };
      const tx = await x.ctx('orders').transactionManager.begin();
      tx.enlist('inventory');
      await tx.commit();
      assert.deepEqual(res.committed, [tx.id]);
      assert.ok(store.records.get(tx.id)!.participants[0]!.done);
    } finally {
      await patient.close();
    }
  });

  it('a participant that restarts learns the outcome decided while it was away', async () => {
    const res = recordingResource();
    await b.ctx('stock').transactionManager.registerResource('inventory', res.resource).ready;
    // Stopped after it prepared, before phase two.
    store.before = async (operation) => {
      if (operation !== 'decide') return;
      store.before = undefined;
      await b.stopPlugin('stock');
    };
    const tx = await a.ctx('orders').transactionManager.begin();
    tx.enlist('inventory', { n: 1 });
    // Committed: the decision is on record although the participant was not reached in time.
    await tx.commit();
    assert.equal(tx.state, 'committed');
    assert.deepEqual(res.committed, []);
    assert.equal(store.records.get(tx.id)!.finished, false);
    // It comes back (on another node even) and applies the commit at once.
    const restarted = recordingResource();
    const registration = b
      .ctx('stock-again')
      .transactionManager.registerResource('inventory', restarted.resource);
    await registration.ready;
    assert.deepEqual(restarted.committed, [tx.id]);
    assert.deepEqual(restarted.infos, [{ phase: 'commit', redelivered: true }]);
    assert.ok(store.records.get(tx.id)!.participants[0]!.done);
    // Recovery finishes the record once the coordinator's lease lapsed.
    store.skew += 60_000;
    const report = await b.ctx('stock-again').transactionManager.recover();
    assert.deepEqual(report, { examined: 1, committed: 1, aborted: 0, pending: 0 });
    assert.ok(store.records.get(tx.id)!.finished);
    assert.deepEqual(restarted.committed, [tx.id], 'not applied twice');
  });

  it('a prepare that finishes after its timeout’s rollback is rolled back again', async () => {
    const res = recordingResource();
    let finishPrepare!: () => void;
    await b.ctx('slow').transactionManager.registerResource('slow', {
      ...res.resource,
      prepare: async (work, info) => {
        await res.resource.prepare(work, info);
        await new Promise<void>((resolve) => (finishPrepare = resolve));
      },
      rollback: (work, info) => res.resource.rollback(work, info),
    }).ready;
    const tx = await a.ctx('orders').transactionManager.begin({ timeout: 50 });
    tx.enlist('slow');
    await assert.rejects(tx.commit(), { code: 'PB_TX_ABORTED' });
    assert.deepEqual(res.rolledBack, [tx.id]);
    const released = new Promise<void>((resolve) => {
      const rollback = res.resource.rollback.bind(res.resource);
      res.resource.rollback = (work, info) => {
        rollback(work, info);
        resolve();
      };
    });
    finishPrepare();
    await released;
    assert.deepEqual(res.rolledBack, [tx.id, tx.id]);
    assert.deepEqual(res.committed, []);
  });

  it('a prepare that finishes while its rollback is still running is rolled back again after it', async () => {
    const calls: string[] = [];
    let finishPrepare!: () => void;
    let finishRollback!: () => void;
    let rollbackStarted!: () => void;
    const started = new Promise<void>((resolve) => (rollbackStarted = resolve));
    let second!: () => void;
    const rolledBackTwice = new Promise<void>((resolve) => (second = resolve));
    await b.ctx('slow').transactionManager.registerResource('slow', {
      prepare: async () => {
        await new Promise<void>((resolve) => (finishPrepare = resolve));
        calls.push('prepared');
      },
      commit: () => void calls.push('commit'),
      rollback: async () => {
        calls.push('rollback');
        if (calls.filter((c) => c === 'rollback').length === 1) {
          rollbackStarted();
          await new Promise<void>((resolve) => (finishRollback = resolve));
        } else second();
      },
    }).ready;
    const tx = await a.ctx('orders').transactionManager.begin({ timeout: 50 });
    tx.enlist('slow');
    const committing = tx.commit().catch((e: { code: string }) => e.code);
    await started;
    // The prepare ends while the rollback it timed out into is still in the handler.
    finishPrepare();
    await new Promise((resolve) => setImmediate(resolve));
    finishRollback();
    assert.equal(await committing, 'PB_TX_ABORTED');
    await rolledBackTwice;
    assert.deepEqual(calls, ['rollback', 'prepared', 'rollback']);
  });
});
