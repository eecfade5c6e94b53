/**
 * The three named crash points of two-phase commit, the same on both backends (the test files
 * call {@link crashPointTests} with theirs). Each test runs one transaction over three
 * resources, holds a participant at the named point, kills the coordinator with SIGKILL, lets
 * the held participants go on (on Redis, where they outlive it), restarts the coordinator and
 * waits until the log says the transaction finished. Then the checker (check.ts) must find no
 * broken invariant, and the outcome must be the one the point implies.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import type { Verdict } from './check.js';
import type { Phase } from './fixtures/ledger.js';
import { applied } from './tx-process.js';
import {
  figure,
  RESOURCES,
  startRig,
  TX_SETTINGS,
  verdictOf,
  waitEntered,
  type BackendKind,
  type CrashRig,
} from './support.js';

/** Kill the coordinator, restart it, wait until `tx` finished; report the times. */
async function crashAndRecover(
  t: TestContext,
  rig: CrashRig,
  tx: string,
  after: () => Promise<void>,
) {
  // A warm spare takes the restart: the figure is the host's start, not module loading.
  await rig.sparesWarm();
  await rig.killCoordinator();
  const killedAt = Date.now();
  await after();
  await rig.restartCoordinator();
  const restartedAt = Date.now();
  await rig.waitFinished([tx]);
  figure(t, 'coordinator restarted', restartedAt - killedAt, 'ms after the kill');
  figure(
    t,
    'transaction finished',
    Date.now() - killedAt,
    `ms after the kill (leaseMs ${TX_SETTINGS.leaseMs})`,
  );
}

/** States each resource ended in for `tx`, from the ledgers. */
async function endStates(rig: CrashRig, tx: string): Promise<Record<string, string>> {
  const { ledgers } = await rig.history();
  const states: Record<string, string> = {};
  for (const [resource, calls] of ledgers) {
    const mine = calls.filter(
      (call) => call.tx === tx && (call.result === 'applied' || call.result === 'unprepared'),
    );
    states[resource] = mine.at(-1)?.op ?? 'untouched';
  }
  return states;
}

/** Phase-two calls that reached each resource's ledger for `tx`. */
async function phaseTwoCalls(
  rig: CrashRig,
  tx: string,
  phase: Phase,
): Promise<Record<string, number>> {
  const { ledgers } = await rig.history();
  const counts: Record<string, number> = {};
  for (const [resource, calls] of ledgers)
    counts[resource] = calls.filter((c) => c.tx === tx && c.op === phase).length;
  return counts;
}

function assertClean(t: TestContext, verdict: Verdict): void {
  figure(t, 'repeated phase-two calls absorbed by the ledgers', verdict.repeats);
  assert.deepEqual(verdict.violations, [], 'no invariant broken');
}

const all = (state: string) => Object.fromEntries(RESOURCES.map((resource) => [resource, state]));

export function crashPointTests(kind: BackendKind): void {
  const where =
    kind === 'embedded'
      ? 'the whole process (coordinator and participants)'
      : 'the coordinator process';
  describe(
    `two-phase commit on ${kind}: SIGKILL of ${where} at a named point`,
    { timeout: 120_000 },
    () => {
      // One rig for the three points: each test's transaction is checked, and the whole history
      // (the earlier tests' transactions too) must stay clean.
      let rig: CrashRig;
      before(async () => {
        rig = await startRig(kind);
      });
      beforeEach(() => rig.forget());
      after(() => rig?.close());

      it('after every participant prepared, before the decision: every participant rolls back', async (t) => {
        // The last prepare answer (res-c's, its ledger written) is held until the coordinator is dead.
        await rig.gate([{ resource: 'res-c', phase: 'prepare', at: 'answer' }]);
        const running = rig.coordinator.startRun([{ resources: RESOURCES }]);
        const held = await rig
          .participant('res-c')
          .waitFor(
            (e) => e.type === 'phase' && e.resource === 'res-c' && e.at === 'answer',
            'res-c prepared, its answer held',
          );
        const tx = held.tx;
        await Promise.all(
          ['res-a', 'res-b'].map((r) =>
            rig.participant(r).waitFor(applied(r, 'prepare', tx), `${r} prepared`),
          ),
        );
        await crashAndRecover(t, rig, tx, () => rig.releaseHeld('go'));
        await running.catch(() => undefined);
        assertClean(t, await verdictOf(rig));
        assert.deepEqual(await endStates(rig, tx), all('rollback'));
        assert.equal((await rig.history()).log[tx]?.decision, 'abort', 'presumed abort');
      });

      it('after the decision, before any commit applied: every participant commits once', async (t) => {
        await rig.gate([{ phase: 'commit' }]);
        void rig.coordinator.startRun([{ resources: RESOURCES }]);
        const first = await rig.waitAny(
          (e) => e.type === 'phase' && e.phase === 'commit',
          'the first commit message',
        );
        // On Redis, the participants' held commits fail (nothing applied): recovery must redo them.
        await crashAndRecover(t, rig, first.tx, () => rig.releaseHeld('fail'));
        assertClean(t, await verdictOf(rig));
        assert.deepEqual(await endStates(rig, first.tx), all('commit'));
        assert.equal((await rig.history()).log[first.tx]?.decision, 'commit');
        assert.deepEqual(
          await phaseTwoCalls(rig, first.tx, 'commit'),
          Object.fromEntries(RESOURCES.map((r) => [r, 1])),
          'one commit call each',
        );
      });

      it('after one participant committed, the others held: all commit, none twice', async (t) => {
        await rig.gate([
          { resource: 'res-b', phase: 'commit' },
          { resource: 'res-c', phase: 'commit' },
        ]);
        void rig.coordinator.startRun([{ resources: RESOURCES }]);
        const done = await rig
          .participant('res-a')
          .waitFor(applied('res-a', 'commit'), 'res-a committed');
        await Promise.all(['res-b', 'res-c'].map((r) => waitEntered(rig, r, 'commit', done.tx)));
        await crashAndRecover(t, rig, done.tx, () => rig.releaseHeld('fail'));
        assertClean(t, await verdictOf(rig));
        assert.deepEqual(await endStates(rig, done.tx), all('commit'));
        const calls = await phaseTwoCalls(rig, done.tx, 'commit');
        figure(t, 'commit calls that reached res-a (committed before the kill)', calls['res-a']!);
        // res-a's process outlived the coordinator on Redis: its helper recorded the commit, so
        // recovery must not call it again. On the embedded backend the kill may beat that record.
        if (kind === 'redis') assert.equal(calls['res-a'], 1, 'res-a not called again');
      });
    },
  );
}
