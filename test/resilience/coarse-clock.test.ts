import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { CoarseClock } from '../../src/resilience/coarse-clock.js';

describe('coarse clock', () => {
  it('serves one Date.now() reading for at most 64 reads, then reads again', () => {
    let t = 1000;
    const now = mock.method(Date, 'now', () => t);
    try {
      const clock = new CoarseClock();
      assert.equal(clock.now(), 1000);
      t = 2000;
      for (let i = 1; i < 64; i++) assert.equal(clock.now(), 1000);
      assert.equal(clock.now(), 2000);
      assert.equal(now.mock.callCount(), 2);
    } finally {
      now.mock.restore();
    }
  });

  it('reads again once its 10 ms have passed on the event loop', async () => {
    const clock = new CoarseClock();
    const first = clock.now();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.ok(clock.now() >= first + 10);
  });
});
