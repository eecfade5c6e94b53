/**
 * The chapter's two transaction examples, as written there, through a real host and
 * `context.transactionManager`, on the embedded backend and on Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import type { Transaction, TransactionParticipant } from '../../src/tx/types.js';
import { chapterHost, type ChapterHost } from './chapter-host.js';

const BACKENDS = [
  ['embedded backend', false],
  ['Redis', true],
] as const;

/**
 * What a plugin offers other plugins for use inside a transaction: a call that enlists the
 * plugin's named resource with the work to do (the resource does it in prepare/commit).
 */
function transactional(name: string) {
  return (transaction: Transaction, data: unknown): Promise<void> => {
    transaction.enlist(name, data);
    return Promise.resolve();
  };
}

/** A store of rows that a resource changes only when its transaction commits. */
function rowsResource(rows: unknown[], refuse: (work: unknown) => string | undefined) {
  const pending = new Map<string, unknown>();
  return {
    prepare: (work: unknown, info: { transactionId: string }) => {
      const reason = refuse(work);
      if (reason !== undefined) return { status: 'refused' as const, reason };
      pending.set(info.transactionId, work);
      return { status: 'prepared' as const };
    },
    commit: (_work: unknown, info: { transactionId: string }) => {
      if (pending.has(info.transactionId)) rows.push(pending.get(info.transactionId));
      pending.delete(info.transactionId);
    },
    rollback: (_work: unknown, info: { transactionId: string }) =>
      void pending.delete(info.transactionId),
  };
}

for (const [label, redis] of BACKENDS) {
  describe(`the chapter's transaction examples (${label})`, () => {
    let host: ChapterHost;
    let context: PluginContext;
    const users: unknown[] = [];
    const orders: unknown[] = [];
    const notifications: unknown[] = [];
    before(async () => {
      host = await chapterHost(redis, ['users', 'orders', 'notifications', 'app'], {
        transactions: { logFile: false },
      });
      const { contexts } = host;
      const refuseNegative = (work: unknown): string | undefined =>
        (work as { amount?: number }).amount! < 0 ? 'negative amount' : undefined;
      await Promise.all([
        contexts['users']!.transactionManager.registerResource(
          'users',
          rowsResource(users, () => undefined),
        ).ready,
        contexts['orders']!.transactionManager.registerResource(
          'orders',
          rowsResource(orders, refuseNegative),
        ).ready,
        contexts['notifications']!.transactionManager.registerResource(
          'notifications',
          rowsResource(notifications, () => undefined),
        ).ready,
      ]);
      context = contexts['app']!;
    });
    after(() => host.stop());

    const pluginA = { createUser: transactional('users') };
    const pluginB = { createOrder: transactional('orders') };
    const pluginC = { sendNotification: transactional('notifications') };

    /** Example 1 as the chapter writes it. */
    async function example1(userData: unknown, orderData: unknown, notificationData: unknown) {
      // 开始事务
      const transaction = await context.transactionManager.begin();

      try {
        // 执行多个操作
        await pluginA.createUser(transaction, userData);
        await pluginB.createOrder(transaction, orderData);
        await pluginC.sendNotification(transaction, notificationData);

        // 提交事务
        await transaction.commit();
      } catch (error) {
        // 回滚事务
        await transaction.rollback();
        throw error;
      }
    }

    it('1. distributed transaction: every plugin commits', async () => {
      await example1({ name: 'ada' }, { amount: 10 }, { to: 'ada' });
      assert.deepEqual(users, [{ name: 'ada' }]);
      assert.deepEqual(orders, [{ amount: 10 }]);
      assert.deepEqual(notifications, [{ to: 'ada' }]);
    });

    it('1. distributed transaction: one refusal rolls every plugin back and rethrows', async () => {
      await assert.rejects(example1({ name: 'bob' }, { amount: -1 }, { to: 'bob' }), {
        name: 'TransactionAbortedError',
        message: /orders: refused: negative amount/,
      });
      assert.equal(users.length, 1, 'bob was not created');
      assert.equal(orders.length, 1);
      assert.equal(notifications.length, 1);
    });

    it('1. distributed transaction: a failure before commit rolls back', async () => {
      const failing = {
        createOrder: () => Promise.reject(new Error('order service down')),
      };
      const transaction = await context.transactionManager.begin();
      await assert.rejects(async () => {
        try {
          await pluginA.createUser(transaction, { name: 'cy' });
          await failing.createOrder();
          await transaction.commit();
        } catch (error) {
          await transaction.rollback();
          throw error;
        }
      }, /order service down/);
      assert.equal(transaction.state, 'aborted');
      assert.equal(users.length, 1);
    });

    /** A participant as the chapter's second example uses it: prepare answers `{ status }`. */
    interface ChapterParticipant extends TransactionParticipant {
      prepare(transaction: Transaction): Promise<{ status: 'prepared' | 'aborted' }>;
      commit(transaction: Transaction): Promise<void>;
      rollback(transaction: Transaction): Promise<void>;
    }

    /** Participant objects that record what they were asked. */
    function makeParticipants(
      votes: ('prepared' | 'aborted')[],
      log: string[],
    ): ChapterParticipant[] {
      return votes.map((status, i) => ({
        name: `plugin${'ABC'[i]}`,
        prepare: async (transaction: Transaction) => {
          log.push(`prepare ${transaction.id}`);
          return { status };
        },
        commit: async () => void log.push(`commit ${i}`),
        rollback: async () => void log.push(`rollback ${i}`),
      }));
    }

    for (const [title, votes, expected] of [
      ['all prepared → commit', ['prepared', 'prepared', 'prepared'], 'commit'],
      ['one aborted → rollback', ['prepared', 'aborted', 'prepared'], 'rollback'],
    ] as const) {
      it(`2. two-phase commit as written: ${title}`, async () => {
        const log: string[] = [];
        const [pluginA, pluginB, pluginC] = makeParticipants([...votes], log) as [
          ChapterParticipant,
          ChapterParticipant,
          ChapterParticipant,
        ];
        const transaction = await context.transactionManager.begin();

        // 第一阶段：准备
        const participants = [pluginA, pluginB, pluginC];
        const prepareResults = await Promise.all(participants.map((p) => p.prepare(transaction)));

        // 检查准备结果
        if (prepareResults.every((r) => r.status === 'prepared')) {
          // 第二阶段：提交
          await Promise.all(participants.map((p) => p.commit(transaction)));
        } else {
          // 第二阶段：回滚
          await Promise.all(participants.map((p) => p.rollback(transaction)));
        }

        assert.deepEqual(
          log.filter((l) => !l.startsWith('prepare')).sort(),
          [0, 1, 2].map((i) => `${expected} ${i}`),
        );
        await transaction.rollback();
      });

      it(`2. the same participants enlisted, transaction.commit() runs both phases: ${title}`, async () => {
        const log: string[] = [];
        const transaction = await context.transactionManager.begin();
        for (const p of makeParticipants([...votes], log)) transaction.enlist(p);
        const committing = transaction.commit();
        if (expected === 'commit') await committing;
        else await assert.rejects(committing, { name: 'TransactionAbortedError' });
        assert.deepEqual(
          log.filter((l) => !l.startsWith('prepare')).sort(),
          [0, 1, 2].map((i) => `${expected} ${i}`),
        );
      });
    }
  });
}
