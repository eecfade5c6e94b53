/** The shared expiry timer of held locks: never early, cancellable, bounded by compaction. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiryClock } from '../../src/lock/expiry-clock.js';

describe('ExpiryClock', () => {
  it('fires entries in due order, never before their time, and skips cancelled ones', async () => {
    const clock = new ExpiryClock();
    const start = performance.now();
    const fired: [string, number][] = [];
    const done = new Promise<void>((resolve) => {
      clock.schedule(start + 30, () => {
        fired.push(['late', performance.now() - start]);
        resolve();
      });
    });
    clock.schedule(start + 5, () => fired.push(['early', performance.now() - start]));
    const cancelled = clock.schedule(start + 10, () => fired.push(['cancelled', 0]));
    cancelled.cancel();
    cancelled.cancel();
    // The clock's timer is unref'd (like a lock's): keep the test process alive meanwhile.
    const keepAlive = setTimeout(() => undefined, 5000);
    await done;
    clearTimeout(keepAlive);
    assert.deepEqual(
      fired.map(([name]) => name),
      ['early', 'late'],
    );
    assert.ok(fired[0]![1] >= 5 && fired[1]![1] >= 30, `fired at ${JSON.stringify(fired)}`);
    assert.equal(clock.size, 0);
  });

  it('keeps memory proportional to live entries while one entry stays pending', () => {
    const clock = new ExpiryClock();
    const far = clock.schedule(performance.now() + 60_000, () => undefined);
    for (let i = 0; i < 10_000; i++)
      clock.schedule(performance.now() + 60_000 + i, () => undefined).cancel();
    assert.equal(clock.size, 1);
    assert.ok((clock as unknown as { heap: unknown[] }).heap.length <= 1 + 1025);
    far.cancel();
    assert.equal(clock.size, 0);
  });
});
