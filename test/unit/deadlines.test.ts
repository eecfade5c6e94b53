import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Deadlines } from '../../src/util/deadlines.js';

describe('Deadlines', () => {
  it('fires expired entries in order and never fires cancelled ones', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000 });
    try {
      const deadlines = new Deadlines();
      const fired: string[] = [];
      deadlines.add(100, () => fired.push('a100'));
      const b = deadlines.add(100, () => fired.push('b100'));
      deadlines.add(50, () => fired.push('c50'));
      assert.equal(b.cancel(), true);
      assert.equal(b.cancel(), false);
      // Advance one tick at a time: the mocked clock jumps to the end of a multi-tick advance.
      const advance = (ms: number): void => {
        for (let t = 0; t < ms; t += 10) mock.timers.tick(10);
      };
      advance(50);
      assert.deepEqual(fired, [], 'never early');
      advance(10); // stamped at the first tick (+10), so due at +60
      assert.deepEqual(fired, ['c50']);
      advance(50);
      assert.deepEqual(fired, ['c50', 'a100']);
      deadlines.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('compacts cancelled entries while an old entry stays pending', () => {
    const deadlines = new Deadlines();
    const stuck = deadlines.add(60_000, () => undefined);
    for (let i = 0; i < 50_000; i++) deadlines.add(60_000, () => undefined).cancel();
    // cancelled entries are compacted away as they accumulate
    const queue = (
      deadlines as unknown as { queues: Map<number, { items: unknown[] }> }
    ).queues.get(60_000)!;
    assert.ok(queue.items.length < 10_000, `queue kept ${queue.items.length} entries`);
    stuck.cancel();
    deadlines.close();
  });

  it('fires entries added after close at once', async () => {
    const deadlines = new Deadlines();
    deadlines.close();
    let fired = 0;
    deadlines.add(60_000, () => fired++);
    const cancelled = deadlines.add(60_000, () => fired++);
    assert.equal(cancelled.cancel(), true);
    await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
    assert.equal(fired, 1);
  });

  it('flushes pending entries on close so nothing stays pending', () => {
    const deadlines = new Deadlines();
    let fired = 0;
    deadlines.add(60_000, () => fired++);
    deadlines.close();
    assert.equal(fired, 1);
  });
});
