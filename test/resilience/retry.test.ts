import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  ServiceUnavailableError,
  ValidationError,
  LockNotHeldError,
} from '../../src/errors/errors.js';
import { retrySettings, retryableByDefault } from '../../src/resilience/retry-options.js';
import { backoffDelay, RetryPolicy, type RetryDeps } from '../../src/resilience/retry.js';
import { ROOT_CALL } from '../../src/resilience/call-context.js';
import type { RetryPolicyOptions } from '../../src/resilience/types.js';
import { errorOf, FakeClock } from './support.js';

/** A retry policy whose sleeps are recorded (and take no time) and whose random is given. */
function fakeRetry(options: RetryPolicyOptions, random = () => 0.5) {
  const clock = new FakeClock();
  const sleeps: number[] = [];
  const deps: RetryDeps = {
    clock,
    random,
    sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
  };
  return { clock, sleeps, policy: new RetryPolicy(retrySettings(options), deps) };
}

/** fn failing `failures` times with `error`, then answering its attempt number. */
function flaky(failures: number, error: () => unknown = () => new Error('flaky')) {
  const attempts: number[] = [];
  const fn = ({ attempt }: { attempt: number }) => {
    attempts.push(attempt);
    return attempts.length <= failures ? Promise.reject(error()) : Promise.resolve(attempt);
  };
  return { attempts, fn };
}

describe('retry policy', () => {
  it("a retryOn that throws stops retrying, and the caller sees the call's own error", async () => {
    const { policy } = fakeRetry({
      maxAttempts: 3,
      retryOn: () => {
        throw new Error('classifier bug');
      },
    });
    const callError = new Error('call failed');
    const { attempts, fn } = flaky(3, () => callError);
    assert.equal(await errorOf(policy.run(fn, ROOT_CALL)), callError);
    assert.deepEqual(attempts, [1]);
  });

  it('retries up to maxAttempts, telling fn its attempt number', async () => {
    const { policy, sleeps } = fakeRetry({ maxAttempts: 3, jitter: 'none', delay: 100 });
    const { fn, attempts } = flaky(2);
    assert.equal(await policy.run(fn, ROOT_CALL), 3);
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(sleeps, [100, 200]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { policy } = fakeRetry({ maxAttempts: 2, jitter: 'none' });
    let n = 0;
    const error = await errorOf(policy.run(() => Promise.reject(new Error(`e${++n}`)), ROOT_CALL));
    assert.equal((error as Error).message, 'e2');
  });

  it('backoff: exponential doubles up to maxDelay; fixed stays', () => {
    const exp = retrySettings({ delay: 100, maxDelay: 500 });
    assert.deepEqual(
      [1, 2, 3, 4, 60].map((n) => backoffDelay(exp, n)),
      [100, 200, 400, 500, 500],
    );
    const fixed = retrySettings({ backoff: 'fixed', delay: 70, maxDelay: 50 });
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffDelay(fixed, n)),
      [50, 50, 50],
    );
  });

  it('full jitter: each delay in [0, computed], spread by random()', async () => {
    const randoms = [0, 0.999999, 0.25];
    const { policy, sleeps } = fakeRetry({ maxAttempts: 4, delay: 100 }, () => randoms.shift()!);
    await policy.run(flaky(3).fn, ROOT_CALL);
    assert.equal(sleeps.length, 3);
    assert.equal(sleeps[0], 0);
    assert.ok(sleeps[1]! < 200 && sleeps[1]! > 199);
    assert.equal(sleeps[2], 100);
    // Real Math.random: always within bounds.
    const real = new RetryPolicy(
      retrySettings({ maxAttempts: 6, delay: 10, maxDelay: 40, budget: false }),
      {
        clock: new FakeClock(),
        random: Math.random,
        sleep: (ms) => {
          assert.ok(ms >= 0 && ms <= 40, `delay ${ms}`);
          return Promise.resolve();
        },
      },
    );
    await real.run(flaky(5).fn, ROOT_CALL);
  });

  it('default classification: plain errors and retryable Plugboard errors; never an open circuit, a full bulkhead, bad input', () => {
    assert.equal(retryableByDefault(new Error('x')), true);
    assert.equal(retryableByDefault(new ServiceUnavailableError('x')), true);
    assert.equal(retryableByDefault(new LockNotHeldError('x')), false);
    assert.equal(retryableByDefault(new CircuitOpenError('x')), false);
    assert.equal(retryableByDefault(new BulkheadRejectedError('x')), false);
    assert.equal(retryableByDefault(new ValidationError('x')), false);
  });

  it('does not retry what the classification refuses', async () => {
    const { policy } = fakeRetry({ maxAttempts: 5 });
    const { fn, attempts } = flaky(5, () => new CircuitOpenError('open'));
    assert.ok((await errorOf(policy.run(fn, ROOT_CALL))) instanceof CircuitOpenError);
    assert.deepEqual(attempts, [1]);
  });

  it('retryOn: error classes, or a predicate', async () => {
    class Transient extends Error {}
    const byClass = fakeRetry({ maxAttempts: 3, retryOn: [Transient] }).policy;
    assert.equal(await byClass.run(flaky(2, () => new Transient()).fn, ROOT_CALL), 3);
    const other = flaky(2, () => new TypeError('no'));
    assert.ok((await errorOf(byClass.run(other.fn, ROOT_CALL))) instanceof TypeError);
    assert.deepEqual(other.attempts, [1]);
    const byPredicate = fakeRetry({
      maxAttempts: 3,
      retryOn: (e) => (e as Error).message === 'again',
    }).policy;
    assert.equal(await byPredicate.run(flaky(2, () => new Error('again')).fn, ROOT_CALL), 3);
  });

  it('the retry budget: past ratio x calls + minRetriesPerSecond x 10 over 10 s, no more retries', async () => {
    const { policy, clock } = fakeRetry({
      maxAttempts: 2,
      delay: 0,
      budget: { ratio: 0.5, minRetriesPerSecond: 0.1 }, // 1 retry free per 10 s, plus half the calls
    });
    let attempts = 0;
    const failing = () => (attempts++, Promise.reject(new Error('down')));
    for (let i = 0; i < 4; i++) await errorOf(policy.run(failing, ROOT_CALL));
    // 4 calls: budget 0.5 x 4 + 1 = 3 retries, so the 4th call was not retried.
    assert.equal(attempts, 4 + 3);
    clock.advance(10_000); // the window has passed: the budget is back
    attempts = 0;
    await errorOf(policy.run(failing, ROOT_CALL));
    assert.equal(attempts, 2);
  });

  it('stops retrying when the call signal aborts (a plugin stops), sleeping or not', async () => {
    const controller = new AbortController();
    const policy = new RetryPolicy(
      retrySettings({ maxAttempts: 5, delay: 60_000, jitter: 'none' }),
    );
    let attempts = 0;
    const running = policy.run(() => (attempts++, Promise.reject(new Error('down'))), {
      signal: controller.signal,
      attempt: 1,
    });
    setImmediate(() => controller.abort());
    assert.equal(((await errorOf(running)) as Error).message, 'down');
    assert.equal(attempts, 1);
  });

  it('validates its options', () => {
    assert.throws(() => retrySettings({ maxAttempts: 0 }), ValidationError);
    assert.throws(() => retrySettings({ backoff: 'linear' as 'fixed' }), ValidationError);
    assert.throws(
      () => retrySettings({ retryOn: ['x' as unknown as typeof Error] }),
      ValidationError,
    );
    assert.throws(
      () => retrySettings({ budget: { ratio: -1, minRetriesPerSecond: 1 } }),
      ValidationError,
    );
  });
});
