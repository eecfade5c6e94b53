/**
 * A participant process that voted yes is killed with SIGKILL before its phase two applied;
 * restarted (a new process registering the same resource over the same ledger), it learns the
 * outcome and applies it once: commit for a committed transaction, rollback for an aborted one.
 * Redis only: on the embedded backend the participants live in the coordinator's process, so
 * every embedded crash test is also a participant restart. Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applied, entered } from './tx-process.js';
import { figure, RESOURCES, startRig, verdictOf, waitEntered } from './support.js';

describe(
  'two-phase commit on redis: a participant killed after voting yes',
  { timeout: 120_000 },
  () => {
    it('restarted, it learns the commit and applies it once', async (t) => {
      const rig = await startRig('redis', [{ resource: 'res-c', phase: 'commit' }]);
      try {
        const running = rig.coordinator.startRun([{ resources: RESOURCES }]);
        const held = await waitEntered(rig, 'res-c', 'commit');
        await rig.sparesWarm();
        await rig.killParticipant('res-c');
        const killedAt = Date.now();
        await rig.restartParticipant('res-c');
        const restartedAt = Date.now();
        await rig
          .participant('res-c')
          .waitFor(applied('res-c', 'commit', held.tx), 'res-c to commit');
        figure(
          t,
          'restarted participant committed',
          Date.now() - restartedAt,
          'ms after its restart',
        );
        await rig.waitFinished([held.tx]);
        figure(
          t,
          'transaction finished',
          Date.now() - killedAt,
          'ms after the participant was killed',
        );
        await running;
        assert.deepEqual(rig.coordinator.lines.committed, [held.tx], 'the caller saw committed');
        const verdict = await verdictOf(rig);
        assert.deepEqual(verdict.violations, []);
        const calls = (await rig.history()).ledgers.get('res-c')!.filter((c) => c.op === 'commit');
        figure(t, 'commit calls that reached the restarted participant', calls.length);
        assert.equal(calls.filter((c) => c.result === 'applied').length, 1, 'applied once');
      } finally {
        await rig.close();
      }
    });

    it('restarted, it learns the abort and rolls back once', async (t) => {
      // res-a votes no, but only once res-c has voted yes; res-c's rollback is held, then it dies.
      const rig = await startRig('redis', [
        { resource: 'res-a', phase: 'prepare' },
        { resource: 'res-c', phase: 'rollback' },
      ]);
      try {
        const running = rig.coordinator.startRun([{ resources: RESOURCES, refuse: 'res-a' }]);
        const voted = await rig
          .participant('res-c')
          .waitFor(applied('res-c', 'prepare'), 'res-c prepared');
        const refusing = await rig
          .participant('res-a')
          .waitFor(entered('res-a', 'prepare'), 'res-a prepare');
        await rig.participant('res-a').release(refusing.token!);
        await waitEntered(rig, 'res-c', 'rollback', voted.tx);
        await rig.sparesWarm();
        await rig.killParticipant('res-c');
        const killedAt = Date.now();
        await rig.restartParticipant('res-c');
        const restartedAt = Date.now();
        await rig
          .participant('res-c')
          .waitFor(applied('res-c', 'rollback', voted.tx), 'res-c to roll back');
        figure(
          t,
          'restarted participant rolled back',
          Date.now() - restartedAt,
          'ms after its restart',
        );
        await rig.waitFinished([voted.tx]);
        figure(
          t,
          'transaction finished',
          Date.now() - killedAt,
          'ms after the participant was killed',
        );
        await running;
        assert.deepEqual(rig.coordinator.lines.aborted, [voted.tx], 'the caller saw aborted');
        const verdict = await verdictOf(rig);
        assert.deepEqual(verdict.violations, []);
        assert.equal(verdict.aborted, 1);
      } finally {
        await rig.close();
      }
    });
  },
);
