import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../../src/errors/errors.js';
import { ROOT_CALL } from '../../src/resilience/call-context.js';
import { TimeoutPolicy } from '../../src/resilience/timeout.js';
import { errorOf } from './support.js';

describe('timeout policy', () => {
  it('rejects with TimeoutError and aborts the callee signal with it', async () => {
    const policy = new TimeoutPolicy(20);
    let seen: AbortSignal | undefined;
    const aborted = new Promise<unknown>((resolve) => {
      void policy
        .run(({ signal }) => {
          seen = signal;
          signal.addEventListener('abort', () => resolve(signal.reason));
          return new Promise(() => {}); // never settles by itself
        }, ROOT_CALL)
        .catch(() => {});
    });
    const reason = await aborted;
    assert.ok(reason instanceof TimeoutError);
    assert.equal(reason.details['timeoutMs'], 20);
    assert.equal(seen?.aborted, true);
  });

  it('the caller sees the TimeoutError even when the callee ignores its signal', async () => {
    const error = await errorOf(new TimeoutPolicy(10).run(() => new Promise(() => {}), ROOT_CALL));
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.code, 'PB_TIMEOUT');
  });

  it('passes results and errors through in time, and leaves the signal alone', async () => {
    const policy = new TimeoutPolicy(60_000);
    let signal: AbortSignal | undefined;
    assert.equal(await policy.run((c) => ((signal = c.signal), 'v'), ROOT_CALL), 'v');
    assert.equal(signal?.aborted, false);
    const error = await errorOf(policy.run(() => Promise.reject(new Error('x')), ROOT_CALL));
    assert.equal((error as Error).message, 'x');
  });

  it('an outer abort (the plugin stopping) reaches the callee', async () => {
    const outer = new AbortController();
    const policy = new TimeoutPolicy(60_000);
    const reason = new Error('stopping');
    const got = policy.run(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        ),
      { signal: outer.signal, attempt: 1 },
    );
    outer.abort(reason);
    assert.equal(await errorOf(got), reason);
  });

  it('one outer abort reaches every attempt running under it, and later readers of signal', async () => {
    const outer = new AbortController();
    const policy = new TimeoutPolicy(60_000);
    const call = { signal: outer.signal, attempt: 1 };
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error)),
      );
    const first = policy.run(hang, call);
    const second = policy.run(hang, call);
    // A third settles at once and must not be aborted later (it left the watch).
    let settledSignal: (() => AbortSignal) | undefined;
    await policy.run((c) => void (settledSignal = () => c.signal), call);
    const reason = new Error('stopping');
    outer.abort(reason);
    assert.deepEqual(await Promise.all([errorOf(first), errorOf(second)]), [reason, reason]);
    assert.equal(settledSignal!().aborted, false);
    // Started after the abort: its signal is aborted from the start.
    let late: AbortSignal | undefined;
    await policy.run((c) => void (late = c.signal), call);
    assert.equal(late?.aborted, true);
  });
});
