import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineTracker } from '../../../src/backends/redis/deadlines.js';

describe('DeadlineTracker', () => {
  it('expires each deadline on time with one timer, and never a cancelled one', async () => {
    const tracker = new DeadlineTracker();
    const fired: string[] = [];
    const start = Date.now();
    tracker.add(start + 60, () => fired.push('b'));
    tracker.add(start + 20, () => fired.push('a'));
    const cancelled = tracker.add(start + 40, () => fired.push('x'));
    tracker.cancel(cancelled);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(fired, ['a', 'b']);
    assert.equal(tracker.size, 0);
  });

  it('expires everything at once on expireAll', () => {
    const tracker = new DeadlineTracker();
    let count = 0;
    tracker.add(Date.now() + 10_000, () => count++);
    tracker.add(Date.now() + 20_000, () => count++);
    tracker.expireAll();
    assert.equal(count, 2);
    assert.equal(tracker.size, 0);
  });
});
