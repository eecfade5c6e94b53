/**
 * A participant process that voted yes is killed with SIGKILL before its phase two applied;
 * restarted (a new process registering the same resource over the same ledger), it learns the
 * outcome and applies it once: commit for a committed transaction, rollback for an aborted one.
 * Redis only: on the embedded backend the participants live in the coordinator's process, so
 * every embedded crash test is also a participant restart. Runs on a throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import type { Phase } from './fixtures/ledger.js';
import { applied, entered } from './tx-process.js';
import { figure, RESOURCES, startRig, verdictOf, waitEntered, type CrashRig } from './support.js';

describe(
  'two-phase commit on redis: a participant killed after voting yes',
  { timeout: 120_000 },
  () => {
    let rig: CrashRig;
    before(async () => {
      rig = await startRig('redis');
    });
    beforeEach(() => rig.forget());
    after(() => rig?.close());

    /** Kill res-c (its `phase` held), restart it, and wait until it applied `phase` of `tx`. */
    async function restartHeld(t: TestContext, tx: string, phase: Phase): Promise<void> {
      await rig.sparesWarm();
      await rig.killParticipant('res-c');
      const killedAt = Date.now();
      await rig.restartParticipant('res-c');
      const restartedAt = Date.now();
      await rig.participant('res-c').waitFor(applied('res-c', phase, tx), `res-c ${phase}`);
      figure(
        t,
        `restarted participant applied ${phase}`,
        Date.now() - killedAt,
        `ms after the kill (restart took ${restartedAt - killedAt} ms)`,
      );
      await rig.waitFinished([tx]);
      figure(t, 'transaction finished', Date.now() - killedAt, 'ms after the kill');
      const calls = (await rig.history()).ledgers
        .get('res-c')!
        .filter((c) => c.tx === tx && c.op === phase);
      figure(t, `${phase} calls that reached res-c`, calls.length);
      assert.equal(calls.filter((c) => c.result === 'applied').length, 1, `${phase} applied once`);
      assert.deepEqual((await verdictOf(rig)).violations, []);
    }

    it('restarted, it learns the commit and applies it once', async (t) => {
      await rig.gate([{ resource: 'res-c', phase: 'commit' }]);
      const running = rig.coordinator.startRun([{ resources: RESOURCES }]);
      const held = await waitEntered(rig, 'res-c', 'commit');
      await restartHeld(t, held.tx, 'commit');
      await running;
      assert.ok(rig.coordinator.lines.committed.includes(held.tx), 'the caller saw committed');
      assert.equal((await rig.history()).log[held.tx]?.decision, 'commit');
    });

    it('restarted, it learns the abort and rolls back once', async (t) => {
      // res-a votes no, but only once res-c has voted yes; res-c's rollback is held, then it dies.
      await rig.gate([
        { resource: 'res-a', phase: 'prepare' },
        { resource: 'res-c', phase: 'rollback' },
      ]);
      const running = rig.coordinator.startRun([{ resources: RESOURCES, refuse: 'res-a' }]);
      const voted = await rig
        .participant('res-c')
        .waitFor(applied('res-c', 'prepare'), 'res-c prepared');
      const refusing = await rig
        .participant('res-a')
        .waitFor(entered('res-a', 'prepare', voted.tx), 'res-a prepare');
      await rig.participant('res-a').release(refusing.token!);
      await waitEntered(rig, 'res-c', 'rollback', voted.tx);
      await rig.gate([]);
      await restartHeld(t, voted.tx, 'rollback');
      await running;
      assert.ok(rig.coordinator.lines.aborted.includes(voted.tx), 'the caller saw aborted');
      assert.equal((await rig.history()).log[voted.tx]?.decision, 'abort');
    });
  },
);
