import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/errors/errors.js';
import { NO_RETRY, retryDelay, toRetryPolicy } from '../../src/queue/retry-policy.js';

const half = () => 0.5;

describe('retry policy', () => {
  it('fixed: the same delay for every retry, then the dead letters', () => {
    const policy = toRetryPolicy({ maxRetries: 3, backoff: 'fixed', delay: 100, jitter: false });
    assert.deepEqual(
      [1, 2, 3, 4].map((attempt) => retryDelay(policy, attempt)),
      [100, 100, 100, undefined],
    );
  });

  it('exponential: doubling from the delay, capped by maxDelay', () => {
    const policy = toRetryPolicy({
      maxRetries: 6,
      backoff: 'exponential',
      delay: 100,
      maxDelay: 1000,
      jitter: false,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelay(policy, attempt)),
      [100, 200, 400, 800, 1000, 1000, undefined],
    );
  });

  it('jitter (the default) draws from [delay/2, delay*3/2)', () => {
    const policy = toRetryPolicy({ maxRetries: 2, backoff: 'exponential', delay: 100 });
    assert.equal(policy.jitter, true);
    assert.equal(
      retryDelay(policy, 1, () => 0),
      50,
    );
    assert.equal(retryDelay(policy, 1, half), 100);
    assert.equal(
      retryDelay(policy, 2, () => 0.999),
      300,
    );
    for (let i = 0; i < 100; i++) {
      const delay = retryDelay(policy, 2)!;
      assert.ok(delay >= 100 && delay <= 300, `${delay}`);
    }
  });

  it('no retry: the first failure is final', () => {
    assert.equal(retryDelay(NO_RETRY, 1), undefined);
  });

  it('refuses bad options with ValidationError naming the field', () => {
    const bad: unknown[] = [
      undefined,
      { maxRetries: -1, backoff: 'fixed', delay: 1 },
      { maxRetries: 1.5, backoff: 'fixed', delay: 1 },
      { maxRetries: 1, backoff: 'linear', delay: 1 },
      { maxRetries: 1, backoff: 'fixed', delay: -1 },
      { maxRetries: 1, backoff: 'fixed', delay: 1, maxDelay: 'x' },
      { maxRetries: 1, backoff: 'fixed', delay: 1, jitter: 'yes' },
    ];
    for (const options of bad) assert.throws(() => toRetryPolicy(options), ValidationError);
  });
});
