/** Transactions over participant objects of this process: the state machine, votes and reasons. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { hasErrorCode } from '../../src/errors/errors.js';
import type {
  AbortReason,
  PrepareVote,
  Transaction,
  TransactionParticipant,
} from '../../src/tx/types.js';
import type { FakeTxLog } from './fake-tx-log.js';
import { txCluster } from './tx-support.js';

/** A participant that logs its calls into `log` and answers prepare with `vote()`. */
function participant(
  name: string,
  log: string[],
  vote: () => PrepareVote | Promise<PrepareVote> = () => ({ status: 'prepared' }),
): TransactionParticipant {
  return {
    name,
    prepare: () => {
      log.push(`${name}.prepare`);
      return vote();
    },
    commit: () => void log.push(`${name}.commit`),
    rollback: () => void log.push(`${name}.rollback`),
  };
}

function reasonsOf(error: unknown): AbortReason[] {
  return (error as { details: { reasons: AbortReason[] } }).details.reasons;
}

describe('transactions over participant objects', () => {
  let cluster: Awaited<ReturnType<typeof txCluster>>;
  let context: PluginContext;
  before(async () => {
    cluster = await txCluster(1);
    context = cluster.nodes[0]!.ctx('orders');
  });
  after(() => cluster.close());

  it('commits when every participant prepares, with no log write at all', async () => {
    const log: string[] = [];
    const store = cluster.store as FakeTxLog;
    const before = store.calls.filter((c) => !c.startsWith('claimExpired')).length;
    const tx = await context.transactionManager.begin();
    assert.equal(tx.state, 'active');
    tx.enlist(participant('a', log));
    tx.enlist(participant('b', log, () => true));
    tx.enlist(participant('c', log, () => undefined));
    await tx.commit();
    assert.equal(tx.state, 'committed');
    assert.deepEqual(log.filter((l) => l.endsWith('.commit')).sort(), [
      'a.commit',
      'b.commit',
      'c.commit',
    ]);
    assert.equal(log.filter((l) => l.endsWith('.prepare')).length, 3);
    assert.equal(store.calls.filter((c) => !c.startsWith('claimExpired')).length, before);
    assert.equal(await context.transactionManager.outcome(tx.id), 'committed');
  });

  it('aborts on a refusal, an error and a timeout, listing every reason', async () => {
    const log: string[] = [];
    const tx = await context.transactionManager.begin({ timeout: 50, label: 'order 7' });
    tx.enlist(participant('ok', log));
    tx.enlist(participant('refuser', log, () => ({ status: 'refused', reason: 'out of stock' })));
    tx.enlist(
      participant('thrower', log, () => {
        throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      }),
    );
    tx.enlist(participant('sleeper', log, () => new Promise<PrepareVote>(() => undefined)));
    tx.enlist(participant('nay', log, () => false));
    const error = await tx.commit().then(
      () => assert.fail('should abort'),
      (e: unknown) => e,
    );
    assert.ok(hasErrorCode(error, 'PB_TX_ABORTED'));
    assert.equal((error as Error).name, 'TransactionAbortedError');
    const reasons = reasonsOf(error);
    assert.deepEqual(
      reasons.map((r) => [r.participant, r.kind]),
      [
        ['refuser', 'refused'],
        ['thrower', 'error'],
        ['sleeper', 'timeout'],
        ['nay', 'refused'],
      ],
    );
    assert.equal(reasons[0]!.message, 'out of stock');
    assert.equal(reasons[1]!.code, 'ENOSPC');
    assert.match((error as Error).message, /order 7.*out of stock.*disk full.*50 ms/);
    assert.equal(tx.state, 'aborted');
    assert.ok(tx.signal.aborted);
    assert.equal(log.filter((l) => l.endsWith('.rollback')).length, 5);
    assert.equal(log.filter((l) => l.endsWith('.commit')).length, 0);
    // The chapter's catch block: rollback after an abort is a no-op.
    await tx.rollback();
    assert.equal(log.filter((l) => l.endsWith('.rollback')).length, 5);
  });

  it('treats an unknown vote as a no', async () => {
    const tx = await context.transactionManager.begin();
    tx.enlist(participant('typo', [], () => ({ status: 'prepard' }) as unknown as PrepareVote));
    await assert.rejects(tx.commit(), (e: unknown) => {
      assert.match(reasonsOf(e)[0]!.message, /unknown vote/);
      return true;
    });
  });

  it('enforces the state machine', async () => {
    const tx = await context.transactionManager.begin();
    tx.enlist(participant('a', []));
    await tx.commit();
    await assert.rejects(tx.commit(), { code: 'PB_TX_STATE' });
    await assert.rejects(tx.rollback(), { code: 'PB_TX_STATE' });
    assert.throws(() => tx.enlist(participant('late', [])), { code: 'PB_TX_STATE' });

    const during = await context.transactionManager.begin();
    let release!: () => void;
    during.enlist(participant('slow', [], () => new Promise<void>((r) => (release = r))));
    const committing = during.commit();
    assert.equal(during.state, 'preparing');
    await assert.rejects(during.commit(), { code: 'PB_TX_STATE' });
    await assert.rejects(during.rollback(), { code: 'PB_TX_STATE' });
    release();
    await committing;
  });

  it('rolls back before commit: objects are told, the signal fires, commit is refused after', async () => {
    const log: string[] = [];
    const tx = await context.transactionManager.begin();
    tx.enlist(participant('a', log));
    await tx.rollback('changed my mind');
    assert.deepEqual(log, ['a.rollback']);
    assert.equal(tx.state, 'aborted');
    assert.match(String((tx.signal.reason as Error).message), /changed my mind/);
    await tx.rollback();
    await assert.rejects(tx.commit(), { code: 'PB_TX_STATE' });
  });

  it('validates what it is given', async () => {
    const tm = context.transactionManager;
    await assert.rejects(tm.begin({ timeout: -1 }), { code: 'PB_VALIDATION' });
    await assert.rejects(tm.begin({ timeout: Number.NaN }), { code: 'PB_VALIDATION' });
    const tx: Transaction = await tm.begin();
    assert.throws(() => tx.enlist({ name: 'x' } as unknown as TransactionParticipant), {
      code: 'PB_VALIDATION',
    });
    assert.throws(() => tx.enlist('bad name!'), { code: 'PB_VALIDATION' });
    assert.throws(() => tx.enlist('orders', () => 1), { code: 'PB_SERIALIZATION' });
    await tx.rollback();
  });

  it('bounds the transactions open on a host', async () => {
    const small = await txCluster(1, { settings: { maxOpen: 2 } });
    try {
      const tm = small.nodes[0]!.ctx('p').transactionManager;
      const a = await tm.begin();
      const b = await tm.begin();
      await assert.rejects(tm.begin(), { code: 'PB_BACKPRESSURE' });
      await a.rollback();
      const c = await tm.begin();
      await Promise.all([b.commit(), c.rollback()]);
      await tm.begin();
    } finally {
      await small.close();
    }
  });

  it('rolls back the transactions a plugin left active when it stops', async () => {
    const node = cluster.nodes[0]!;
    const log: string[] = [];
    const tx = await node.ctx('forgetful').transactionManager.begin();
    tx.enlist(participant('a', log));
    await node.stopPlugin('forgetful');
    assert.equal(tx.state, 'aborted');
    assert.deepEqual(log, ['a.rollback']);
  });
});
