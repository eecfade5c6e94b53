/**
 * The history check: 5 processes do 2,000 acquire/write/release cycles in all (400 each) on 3
 * resources with a 400 ms TTL, while one of them is frozen (SIGSTOP) holding a lock and resumed
 * once another process has taken that lock from it. Each process records every grant: resource,
 * fencing token, when it asked, when it got the lock, its `expiresAt` and when it released, all
 * on the wall clock of this one machine, which every process shares. The check: per resource,
 * no two grants overlap in validity (from the grant to the earlier of `expiresAt` and the
 * release call) and every token exceeds the one granted before it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Grant, HistoryCommand } from './fixtures/lock-node.js';
import { checkHistory, smallestHandover } from './history.js';
import { bounded, type LockProcess } from './lock-process.js';
import {
  cleanUp,
  fenceState,
  figure,
  placeOn,
  SHARED_REDIS_URL,
  startLockProcesses,
} from './support.js';

const PROCESSES = 5;
const CYCLES = 400;
const TTL = 400;
const RESOURCES = ['alpha', 'beta', 'gamma'];
const FROZEN = PROCESSES - 1;
const PAUSE_AT = 100;

describe(
  'locks: history check, 5 processes × 400 cycles on 3 resources, one frozen',
  { timeout: 90_000 },
  () => {
    const where = placeOn(SHARED_REDIS_URL, 'lock-history');
    let nodes: LockProcess[] = [];

    before(async () => {
      nodes = await startLockProcesses(PROCESSES, where, 'hist');
    });
    after(() => cleanUp(nodes, where.namespace));

    it('no two grants of a resource overlap; tokens rise in grant order; the frozen write is refused', async (t) => {
      const frozen = nodes[FROZEN]!;
      const started = Date.now();
      const runs = nodes.map((node, i) =>
        node.run<{ grants: Grant[]; timeouts: number }>(
          {
            cmd: 'history',
            resources: RESOURCES,
            cycles: CYCLES,
            ttl: TTL,
            // The frozen process cannot extend while frozen anyway; the others extend so that a
            // slow cycle on this loaded machine does not lose its lock.
            autoExtend: i !== FROZEN,
            seed: 9 + i,
            ...(i === FROZEN ? { pauseAt: PAUSE_AT } : {}),
          } satisfies HistoryCommand,
          80_000,
        ),
      );

      // Freeze the process while it holds its lock; thaw it once another process holds that lock
      // and has written to the fenced resource (it reports a grant only after its write).
      const holding = await frozen.next(
        (e) => e.type === 'holding',
        40_000,
        'the frozen process to hold',
      );
      assert.equal(holding.type, 'holding');
      if (holding.type !== 'holding') return;
      frozen.pause();
      const frozenAt = Date.now();
      const overtaken = new Promise<number>((resolve) => {
        const unsubscribe = nodes
          .filter((node) => node !== frozen)
          .map((node) =>
            node.onEvent((e) => {
              if (
                e.type === 'grant' &&
                e.resource === holding.resource &&
                e.token > holding.token
              ) {
                for (const off of unsubscribe) off();
                resolve(Date.now());
              }
            }),
          );
      });
      const overtakenAt = await bounded(
        overtaken,
        10_000,
        'another process to take the lock',
      ).finally(() => frozen.resume());
      await frozen.run({ cmd: 'go' });
      const thawedAt = Date.now();

      const results = await Promise.all(runs);
      const elapsed = Date.now() - started;
      const grants = results.flatMap((r) => r.grants);
      const violations = checkHistory(grants);

      figure(t, 'cycles (grants recorded)', grants.length);
      figure(t, 'run time, 2000 cycles', elapsed, 'ms');
      figure(t, 'frozen process: frozen for', thawedAt - frozenAt, 'ms');
      figure(t, 'its lock taken over after', overtakenAt - frozenAt, 'ms');
      figure(
        t,
        'acquire timeouts (retried)',
        results.reduce((sum, r) => sum + r.timeouts, 0),
      );
      const waits = grants.map((g) => g.grantedAt - g.requestAt).sort((a, b) => a - b);
      figure(
        t,
        'acquire wait median / p99 / max',
        `${waits[waits.length >> 1]} / ${waits[Math.floor(waits.length * 0.99)]} / ${waits.at(-1)}`,
        'ms',
      );
      const minGap = smallestHandover(grants);
      figure(t, 'smallest gap between one validity end and the next grant', minGap, 'ms');
      figure(t, 'overlaps / token inversions found', violations.length);

      assert.equal(grants.length, PROCESSES * CYCLES);
      assert.deepEqual(violations.slice(0, 10), [], `${violations.length} violations`);

      // The frozen grant: lost while frozen, its write refused, its release refused.
      const stale = grants.filter((g) => g.paused);
      assert.equal(stale.length, 1);
      assert.equal(stale[0]!.written, false, 'the frozen holder’s write was accepted');
      assert.equal(stale[0]!.lostBeforeRelease, true, 'its signal had not aborted');
      assert.equal(stale[0]!.releaseError, 'PB_LOCK_NOT_HELD');
      // Its expiresAt was measured from before its granting request (it was never extended).
      assert.ok(stale[0]!.expiresAt <= stale[0]!.grantedAt + TTL, 'expiresAt after grant + ttl');
      assert.ok(stale[0]!.expiresAt >= stale[0]!.requestAt + TTL, 'expiresAt before request + ttl');
      // A holder whose lock was not lost always writes.
      const refusedLive = grants.filter(
        (g) => !g.written && !g.lostBeforeRelease && g.releaseError === undefined,
      );
      assert.deepEqual(refusedLive, [], 'a live holder’s write was refused');
      // Each fence ends at the highest token granted for its resource.
      for (const resource of RESOURCES) {
        const top = Math.max(...grants.filter((g) => g.resource === resource).map((g) => g.token));
        assert.equal((await fenceState(where.namespace, resource)).top, top, resource);
      }
    });
  },
);
