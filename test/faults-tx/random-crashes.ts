/**
 * Randomized crash points, the same on both backends (the test files call
 * {@link randomCrashTests}). Each round runs a stream of transactions (some with a participant
 * that votes no) and kills the coordinator with SIGKILL at a point chosen by a seeded PRNG:
 * - stepped: every phase of every participant is held, on entry and again before it answers,
 *   and released one at a time; at the k-th hold (k random) the coordinator is killed, after a
 *   random 0-4 ms; on Redis the participants' held phases then go on or fail (random);
 * - timed: the stream runs freely and the kill lands a random 0-299 ms after it started.
 * The coordinator restarts, the test waits until the log says every transaction so far
 * finished, and the next round starts. After the last one the checker (check.ts) must find no
 * broken invariant over the whole history. `PB_TX_CRASH_SEED` replays a run's choices
 * (the processes' own timing still varies); `PB_TX_CRASH_ROUNDS` changes the number of rounds.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { ReleaseAction, TxSpec } from './fixtures/tx-node.js';
import { bounded, type TxEvent, type TxProcess } from './tx-process.js';
import {
  crashSeed,
  figure,
  RESOURCES,
  seededRandom,
  startRig,
  TX_SETTINGS,
  verdictOf,
  type BackendKind,
  type CrashRig,
} from './support.js';

const ROUNDS = Number(process.env['PB_TX_CRASH_ROUNDS'] ?? 10);

/** A stream of 8-15 transactions: 2 or 3 resources each, a quarter of them with one voting no. */
function stream(random: () => number): TxSpec[] {
  return Array.from({ length: 8 + Math.floor(random() * 8) }, () => {
    // One draw for the resource left out (a draw per element could leave none at all).
    const left = random() < 0.3 ? Math.floor(random() * 3) : -1;
    const resources = RESOURCES.filter((_, i) => i !== left);
    const refuse = random() < 0.25 ? resources[Math.floor(random() * resources.length)] : undefined;
    return refuse === undefined ? { resources } : { resources, refuse };
  });
}

/**
 * Release every held phase of the participant processes as it comes, until the k-th: resolves
 * with that one (left held, and every later one too).
 */
function stepUntil(rig: CrashRig, k: number): { hit: Promise<TxEvent>; stop: () => void } {
  const nodes = new Set<TxProcess>(rig.resources.map((resource) => rig.participant(resource)));
  let count = 0;
  const stops: Array<() => void> = [];
  const hit = new Promise<TxEvent>((resolve) => {
    for (const node of nodes)
      stops.push(
        node.listen((event) => {
          if (event.type !== 'phase' || event.token === undefined) return;
          if (++count === k) resolve(event);
          else if (count < k) node.release(event.token).catch(() => undefined);
        }),
      );
  });
  return { hit, stop: () => stops.forEach((stop) => stop()) };
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export function randomCrashTests(kind: BackendKind, rounds = ROUNDS): void {
  describe(
    `two-phase commit on ${kind}: ${rounds} random SIGKILL points`,
    { timeout: 300_000 },
    () => {
      it('every transaction ends consistent, none applied twice, no caller misled', async (t) => {
        const seed = crashSeed();
        figure(t, 'seed', seed, `(replay: PB_TX_CRASH_SEED=${seed})`);
        const random = seededRandom(seed);
        const rig = await startRig(kind, [], 2);
        const recoveries: number[] = [];
        const points: string[] = [];
        try {
          for (let round = 1; round <= rounds; round++) {
            await rig.sparesWarm();
            const txs = stream(random);
            const parallel = 1 + Math.floor(random() * 3);
            let point: string;
            if (random() < 0.6) {
              const k = 1 + Math.floor(random() * 4 * txs.length);
              const delay = random() < 0.5 ? 0 : Math.floor(random() * 5);
              const action: ReleaseAction = random() < 0.5 ? 'go' : 'fail';
              await rig.gate([{ at: 'enter' }, { at: 'answer' }]);
              const stepping = stepUntil(rig, k);
              const running = rig.coordinator.startRun(txs, parallel);
              const event = await bounded(
                Promise.race([stepping.hit, running.then(() => undefined)]),
                30_000,
                `round ${round}: hold ${k} or the end of the stream`,
              );
              stepping.stop();
              point =
                event?.type === 'phase'
                  ? `hold ${k}: ${event.resource} ${event.phase} (${event.at}) +${delay} ms, then ${action}`
                  : `hold ${k}: after the stream`;
              if (delay > 0) await sleep(delay);
              await rig.killCoordinator();
              await rig.releaseHeld(action);
            } else {
              const delay = Math.floor(random() * 300);
              void rig.coordinator.startRun(txs, parallel);
              await sleep(delay);
              point = `timed +${delay} ms`;
              await rig.killCoordinator();
            }
            const killedAt = Date.now();
            await rig.restartCoordinator();
            const { caller } = await rig.history();
            await rig.waitFinished(caller.begun).catch((error: Error) => {
              throw new Error(`round ${round} (${point}), seed ${seed}: ${error.message}`);
            });
            recoveries.push(Date.now() - killedAt);
            points.push(`${round}. ${point} (${txs.length} txs, ${parallel} at a time)`);
          }
          const verdict = await verdictOf(rig);
          for (const point of points) t.diagnostic(`crash point ${point}`);
          figure(t, 'crash points', rounds);
          figure(t, 'transactions begun', verdict.committed + verdict.aborted + verdict.unopened);
          figure(
            t,
            'committed / aborted / never logged',
            `${verdict.committed} / ${verdict.aborted} / ${verdict.unopened}`,
          );
          figure(t, 'finished by recovery (caller killed first)', verdict.finishedByRecovery);
          figure(t, 'repeated phase-two calls absorbed by the ledgers', verdict.repeats);
          figure(
            t,
            'kill to every transaction finished (min / median / max)',
            `${Math.min(...recoveries)} / ${median(recoveries)} / ${Math.max(...recoveries)}`,
            `ms (restart included; leaseMs ${TX_SETTINGS.leaseMs}, recoveryInterval ${TX_SETTINGS.recoveryInterval})`,
          );
          assert.deepEqual(
            verdict.violations,
            [],
            `no invariant broken (replay: PB_TX_CRASH_SEED=${seed})`,
          );
          assert.ok(verdict.committed > 0 && verdict.aborted > 0, 'both outcomes occurred');
        } finally {
          await rig.close();
        }
      });
    },
  );
}
