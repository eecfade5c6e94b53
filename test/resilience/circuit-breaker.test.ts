import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitOpenError, TimeoutError, ValidationError } from '../../src/errors/errors.js';
import type { CircuitStateChange } from '../../src/resilience/types.js';
import { BreakerRegistry } from '../../src/resilience/breaker-registry.js';
import { SharedBreaker } from '../../src/resilience/circuit-breaker.js';
import { breakerSettings } from '../../src/resilience/breaker-options.js';
import { silentLogger } from '../support/runtime.js';
import { boom, deferred, errorOf, fakeBreaker, FakeClock, ok } from './support.js';

describe('circuit breaker', () => {
  it('stays closed below minimumCalls, however many fail', async () => {
    const { breaker } = fakeBreaker({ minimumCalls: 5, failureThreshold: 50 });
    for (let i = 0; i < 4; i++) await errorOf(breaker.execute(boom));
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats.failures, 4);
    await errorOf(breaker.execute(boom));
    assert.equal(breaker.state, 'open');
  });

  it('opens when the failure rate reaches failureThreshold percent, not before', async () => {
    const { breaker } = fakeBreaker({ minimumCalls: 4, failureThreshold: 50 });
    for (let i = 0; i < 3; i++) await breaker.execute(ok);
    await errorOf(breaker.execute(boom)); // 1/4 = 25 %
    await errorOf(breaker.execute(boom)); // 2/5 = 40 %
    assert.equal(breaker.state, 'closed');
    await errorOf(breaker.execute(boom)); // 3/6 = 50 %
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.stats.failureRate, 50);
  });

  it('rejects at once while open with CircuitOpenError (type, name, retryAfterMs), not calling fn', async () => {
    const { breaker, clock } = fakeBreaker({ minimumCalls: 1, timeout: 5000 });
    await errorOf(breaker.execute(boom));
    clock.advance(1000);
    let called = false;
    const error = await errorOf(breaker.execute(() => ((called = true), ok())));
    assert.ok(error instanceof CircuitOpenError);
    assert.equal(error.type, 'CircuitOpenError');
    assert.equal(error.code, 'PB_CIRCUIT_OPEN');
    assert.deepEqual(error.details, { name: 'svc', state: 'open', retryAfterMs: 4000 });
    assert.equal(called, false);
    assert.equal(breaker.stats.rejectedTotal, 1);
  });

  it('goes half-open after timeout ms; successThreshold probe successes close it', async () => {
    const { breaker, clock } = fakeBreaker({ minimumCalls: 1, timeout: 5000, successThreshold: 3 });
    await errorOf(breaker.execute(boom));
    clock.advance(4999);
    assert.equal(breaker.state, 'open');
    clock.advance(1);
    assert.equal(breaker.state, 'half-open');
    await breaker.execute(ok);
    await breaker.execute(ok);
    assert.equal(breaker.state, 'half-open');
    await breaker.execute(ok);
    assert.equal(breaker.state, 'closed');
    // A fresh window: the failure before opening no longer counts.
    assert.equal(breaker.stats.calls, 0);
  });

  it('half-open admits only halfOpenProbes calls at once; the others are rejected at once', async () => {
    const { breaker, clock } = fakeBreaker({
      minimumCalls: 1,
      timeout: 10,
      halfOpenProbes: 2,
      successThreshold: 2,
    });
    await errorOf(breaker.execute(boom));
    clock.advance(10);
    const a = deferred();
    const b = deferred();
    const first = breaker.execute(() => a.promise);
    const second = breaker.execute(() => b.promise);
    let called = false;
    const third = await errorOf(breaker.execute(() => ((called = true), ok())));
    assert.ok(third instanceof CircuitOpenError);
    assert.equal(third.details['state'], 'half-open');
    assert.equal(called, false);
    a.resolve('a');
    assert.equal(await first, 'a');
    // One slot free again: a probe is admitted.
    const c = deferred();
    const fourth = breaker.execute(() => c.promise);
    b.resolve('b');
    await second;
    assert.equal(breaker.state, 'closed');
    c.resolve('c');
    assert.equal(await fourth, 'c');
  });

  it('any probe failure re-opens for another timeout', async () => {
    const { breaker, clock } = fakeBreaker({ minimumCalls: 1, timeout: 100, successThreshold: 2 });
    await errorOf(breaker.execute(boom));
    clock.advance(100);
    await breaker.execute(ok);
    assert.equal(breaker.state, 'half-open');
    await errorOf(breaker.execute(boom));
    assert.equal(breaker.state, 'open');
    clock.advance(99);
    assert.equal(breaker.state, 'open');
    clock.advance(1);
    assert.equal(breaker.state, 'half-open');
  });

  it('forgets failures older than the window (bucket by bucket)', async () => {
    const { breaker, clock } = fakeBreaker({ minimumCalls: 4, windowMs: 1000 });
    for (let i = 0; i < 3; i++) await errorOf(breaker.execute(boom));
    clock.advance(500);
    assert.equal(breaker.stats.failures, 3);
    clock.advance(500); // the first bucket left the window
    assert.equal(breaker.stats.calls, 0);
    await errorOf(breaker.execute(boom));
    assert.equal(breaker.state, 'closed', 'only 1 call in the window now');
    clock.advance(5000); // far past: every bucket cleared once
    await breaker.execute(ok);
    assert.deepEqual([breaker.stats.calls, breaker.stats.failures], [1, 0]);
  });

  it('counts timeouts, as failures and in timeoutsTotal', async () => {
    const { breaker } = fakeBreaker({ minimumCalls: 2 });
    const timeout = () => Promise.reject(new TimeoutError('slow'));
    await errorOf(breaker.execute(timeout));
    await errorOf(breaker.execute(timeout));
    assert.equal(breaker.stats.timeoutsTotal, 2);
    assert.equal(breaker.state, 'open');
  });

  it('isFailure: errors it rejects count as successes (and still reach the caller)', async () => {
    class NotFound extends Error {}
    const { breaker } = fakeBreaker({
      minimumCalls: 2,
      isFailure: (e) => !(e instanceof NotFound),
    });
    for (let i = 0; i < 5; i++) {
      const error = await errorOf(breaker.execute(() => Promise.reject(new NotFound())));
      assert.ok(error instanceof NotFound);
    }
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats.successesTotal, 5);
  });

  it('an isFailure that throws counts the call as failed (and never escapes)', async () => {
    const { breaker } = fakeBreaker({
      minimumCalls: 1,
      isFailure: () => {
        throw new Error('classifier bug');
      },
    });
    const error = await errorOf(breaker.execute(boom));
    assert.equal((error as Error).message, 'boom');
    assert.equal(breaker.state, 'open');
  });

  it('sync results and sync throws count too', async () => {
    const { breaker } = fakeBreaker({ minimumCalls: 2 });
    assert.equal(await breaker.execute(() => 7), 7);
    const error = await errorOf(
      breaker.execute(() => {
        throw new Error('sync');
      }),
    );
    assert.equal((error as Error).message, 'sync');
    assert.deepEqual([breaker.stats.calls, breaker.stats.failures], [2, 1]);
  });

  it('execute(fn, fallback): any failure, the open circuit included, resolves with the fallback', async () => {
    const { breaker } = fakeBreaker({ minimumCalls: 1 });
    const seen: unknown[] = [];
    const fallback = (error: unknown) => (seen.push(error), 'cached');
    assert.equal(await breaker.execute(boom, fallback), 'cached');
    assert.equal(await breaker.execute(ok, fallback), 'cached');
    assert.equal((seen[0] as Error).message, 'boom');
    assert.ok(seen[1] instanceof CircuitOpenError);
  });

  it('emits stateChange and one event per state, in order', async () => {
    const { breaker, clock } = fakeBreaker({ minimumCalls: 1, timeout: 10 });
    const changes: string[] = [];
    const entered: string[] = [];
    breaker.on('stateChange', (c: CircuitStateChange) => changes.push(`${c.from}>${c.to}@${c.at}`));
    for (const state of ['open', 'half-open', 'closed'] as const)
      breaker.on(state, () => entered.push(state));
    const t0 = clock.t;
    await errorOf(breaker.execute(boom));
    clock.advance(10);
    await breaker.execute(ok);
    assert.deepEqual(changes, [
      `closed>open@${t0}`,
      `open>half-open@${t0 + 10}`,
      `half-open>closed@${t0 + 10}`,
    ]);
    assert.deepEqual(entered, ['open', 'half-open', 'closed']);
  });

  it('announces half-open by itself once the timeout passed (no call needed)', async () => {
    // The real clock: the open timer looks at it.
    const registry = new BreakerRegistry({ logger: silentLogger });
    const breaker = registry.getOrCreate('timed', { minimumCalls: 1, timeout: 20 });
    const halfOpen = new Promise<CircuitStateChange>((resolve) => breaker.on('half-open', resolve));
    // The open timer is unref'd (a breaker never keeps a process alive): this test's own bound
    // keeps the event loop running while it waits, and fails it if the announcement never comes.
    let bound: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      bound = setTimeout(() => reject(new Error('no half-open within 5 s')), 5000);
    });
    await errorOf(breaker.execute(boom));
    const change = await Promise.race([halfOpen, timedOut]).finally(() => clearTimeout(bound));
    assert.equal(change.from, 'open');
    assert.ok(change.at - breaker.stats.changedAt <= 0);
    registry.close();
  });

  it('reset() closes and clears the window; a listener that throws does not break the breaker', async () => {
    const { breaker } = fakeBreaker({ minimumCalls: 1 });
    breaker.on('open', () => {
      throw new Error('listener');
    });
    await errorOf(breaker.execute(boom));
    assert.equal(breaker.state, 'open');
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.stats.calls, 0);
    assert.equal(await breaker.execute(ok), 'ok');
  });

  it('a call started before the circuit opened does not count once it is open', async () => {
    const { breaker } = fakeBreaker({ minimumCalls: 1 });
    const slow = deferred();
    const started = breaker.execute(() => slow.promise);
    await errorOf(breaker.execute(boom));
    assert.equal(breaker.state, 'open');
    slow.resolve('late');
    assert.equal(await started, 'late');
    assert.equal(breaker.stats.calls, 1, 'only the failure that opened it');
  });

  it('a stale hot-path clock (an event loop blocked for seconds) does not shorten the open period', async () => {
    const clock = new FakeClock();
    const stale = new FakeClock(clock.t - 5_000);
    const settings = breakerSettings({ minimumCalls: 1, timeout: 10_000 });
    const breaker = new SharedBreaker('svc', settings, clock, () => {}, stale);
    await errorOf(breaker.execute(boom));
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.stats.changedAt, clock.t);
    clock.advance(6_000);
    assert.equal(breaker.state, 'open', 'open for its whole timeout');
    clock.advance(4_000);
    assert.equal(breaker.state, 'half-open');
    breaker.dispose();
  });

  it('a call started before the circuit opened does not count after it closed again', async () => {
    const { breaker, clock } = fakeBreaker({ minimumCalls: 1, timeout: 1_000 });
    const slow = deferred();
    const started = breaker.execute(() => slow.promise);
    await errorOf(breaker.execute(boom));
    clock.advance(1_000);
    assert.equal(await breaker.execute(ok), 'ok');
    assert.equal(breaker.state, 'closed');
    slow.reject(new Error('stale failure'));
    await errorOf(started);
    assert.equal(breaker.state, 'closed', 'a result from before the outage does not reopen it');
    assert.equal(breaker.stats.calls, 0);
  });

  it('validates options with ValidationError naming the field', () => {
    for (const [options, field] of [
      [{ failureThreshold: 120 }, 'failureThreshold'],
      [{ successThreshold: 0 }, 'successThreshold'],
      [{ timeout: -1 }, 'timeout'],
      [{ minimumCalls: 1.5 }, 'minimumCalls'],
      [{ halfOpenProbes: 0 }, 'halfOpenProbes'],
      [{ windowMs: Number.NaN }, 'windowMs'],
    ] as const) {
      assert.throws(
        () => fakeBreaker(options),
        (error: unknown) => error instanceof ValidationError && error.details['field'] === field,
      );
    }
  });
});
