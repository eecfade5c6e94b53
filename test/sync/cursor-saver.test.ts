/**
 * The durable cursor's saver: a save that was in flight when the watcher started over (its feed
 * was reset) must not count as the new cursor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CursorSaver } from '../../src/sync/cursor-saver.js';
import { until } from '../conformance/harness.js';
import { silentLogger } from '../support/runtime.js';

describe('CursorSaver', () => {
  it('saves the new cursor after startAt() while an older save was in flight', async () => {
    const written: number[] = [];
    let finish: () => void = () => undefined;
    const saver = new CursorSaver((seq) => {
      written.push(seq);
      // The first write hangs until released (a slow round trip); later ones answer at once.
      return written.length === 1 ? new Promise<void>((r) => (finish = r)) : Promise.resolve();
    }, silentLogger);
    saver.startAt(400);
    saver.save(500);
    await until(() => written.length === 1, 2000, 'the first write');
    // The feed restarted from seq 1: the watcher starts over from 0 and handles seq 1.
    saver.startAt(0);
    finish();
    saver.save(1);
    await saver.flush();
    assert.deepEqual(written, [500, 1], 'the cursor 1 overwrites the stale 500');
  });

  it('never leaves a newer cursor unsaved, whatever tick a save lands in', async () => {
    // A save may come at any microtask while the previous write finishes: try each one.
    for (let ticks = 0; ticks < 12; ticks++) {
      const written: number[] = [];
      const saver = new CursorSaver(async (seq) => void written.push(seq), silentLogger);
      saver.save(1);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      saver.save(2);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(written.at(-1), 2, `a save ${ticks} microtasks in was not written`);
    }
  });
});
