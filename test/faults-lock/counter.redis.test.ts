/**
 * Three processes increment one counter (a number in a file, read then written back with a gap
 * in between) 200 times each under `context.lock.acquire`: exactly 600 at the end. The same
 * increments without the lock lose updates, which shows the counter can tell.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LockProcess } from './lock-process.js';
import { cleanUp, figure, placeOn, SHARED_REDIS_URL, startLockProcesses } from './support.js';

const PER_PROCESS = 200;

describe('locks: three processes increment one counter', { timeout: 60_000 }, () => {
  const where = placeOn(SHARED_REDIS_URL, 'lock-counter');
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-lock-counter-'));
  let nodes: LockProcess[] = [];

  before(async () => {
    nodes = await startLockProcesses(3, where, 'counter');
  });
  after(async () => {
    await cleanUp(nodes, where.namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  const runAll = async (file: string, locked: boolean) => {
    writeFileSync(file, '0');
    const started = Date.now();
    const results = await Promise.all(
      nodes.map((node) =>
        node.run<{ done: number; timeouts: number }>(
          { cmd: 'counter', resource: 'counter', file, count: PER_PROCESS, locked, ttl: 5000 },
          45_000,
        ),
      ),
    );
    return { value: Number(readFileSync(file, 'utf8')), ms: Date.now() - started, results };
  };

  it('without the lock, concurrent read-then-write increments are lost (the control)', async (t) => {
    const { value, ms } = await runAll(join(dir, 'unlocked'), false);
    figure(t, 'unlocked counter after 3 × 200 increments', value);
    figure(t, 'unlocked run', ms, 'ms');
    assert.ok(value < 3 * PER_PROCESS, `the unlocked counter reached ${value}: no lost update`);
  });

  it('under context.lock.acquire the counter ends at exactly 600', async (t) => {
    const { value, ms, results } = await runAll(join(dir, 'locked'), true);
    const timeouts = results.reduce((sum, r) => sum + r.timeouts, 0);
    figure(t, 'locked counter after 3 × 200 increments', value);
    figure(t, 'locked run (600 acquire/increment/release cycles)', ms, 'ms');
    figure(t, 'acquire timeouts (retried)', timeouts);
    assert.deepEqual(
      results.map((r) => r.done),
      [PER_PROCESS, PER_PROCESS, PER_PROCESS],
    );
    assert.equal(value, 3 * PER_PROCESS);
  });
});
