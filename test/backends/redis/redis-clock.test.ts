import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisClock } from '../../../src/backends/redis/redis-clock.js';

/** Redis 1 h ahead of this process: skew must not matter. */
const SKEW = 3_600_000;

describe('RedisClock: the offset between this process and Redis TIME', () => {
  it('knows nothing before the first reply', () => {
    const clock = new RedisClock();
    assert.equal(clock.known, false);
    assert.equal(clock.toRedis(1000), undefined);
  });

  it('never puts a bound later than meant, whatever the skew and round trip', () => {
    const clock = new RedisClock();
    // Sent at 1000, answered at 1040; Redis ran it at local 1010 (its clock: 1010 + SKEW).
    clock.sample(1010 + SKEW, 1000, 1040);
    assert.equal(clock.known, true);
    const bound = clock.toRedis(5000)!;
    // A script starting after local 5000 reads Redis time > 5000 + SKEW >= bound: refused.
    assert.ok(bound <= 5000 + SKEW);
    // ... and the estimate is low by at most the round trip.
    assert.ok(bound >= 5000 + SKEW - 40);
  });

  it('keeps the tightest lower bound: a slow reply does not loosen it', () => {
    const clock = new RedisClock();
    clock.sample(1001 + SKEW, 1000, 1002); // offset in [SKEW - 1, SKEW + 1]
    clock.sample(2000 + SKEW, 1500, 2900); // slow: [SKEW - 900, SKEW + 500]
    assert.equal(clock.toRedis(0), SKEW - 1);
  });

  it('starts again from a reply that proves the estimate wrong (a clock was stepped)', () => {
    const clock = new RedisClock();
    clock.sample(1001 + SKEW, 1000, 1002);
    // This process's clock jumped 10 s ahead: the offset is now SKEW - 10 s, below the estimate.
    clock.sample(2001 + SKEW, 12_000, 12_002);
    assert.equal(clock.toRedis(0), SKEW - 10_001);
  });

  it('ignores a reply without a time', () => {
    const clock = new RedisClock();
    clock.sample(Number.NaN, 0, 1);
    assert.equal(clock.known, false);
  });
});
