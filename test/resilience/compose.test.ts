import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  TimeoutError,
  ValidationError,
} from '../../src/errors/errors.js';
import { BreakerRegistry } from '../../src/resilience/breaker-registry.js';
import {
  buildPolicy,
  validatePolicyOptions,
  type PolicyEnv,
} from '../../src/resilience/compose.js';
import { silentLogger } from '../support/runtime.js';
import { deferred, errorOf, FakeClock } from './support.js';

function setup() {
  const clock = new FakeClock();
  const registry = new BreakerRegistry({ logger: silentLogger, clock });
  const env: PolicyEnv = {
    retry: { clock, random: () => 0.5, sleep: () => Promise.resolve() },
  };
  return { clock, registry, env };
}

describe('composed policies (timeout, breaker, retry, bulkhead, fallback from the call outwards)', () => {
  it('timeout is per attempt, and the breaker counts each timeout', async () => {
    const { registry, env } = setup();
    const policy = buildPolicy(
      { timeout: 20, breaker: { name: 'svc', minimumCalls: 10 }, retry: { maxAttempts: 2 } },
      registry,
      undefined,
      env,
    );
    const signals: AbortSignal[] = [];
    const result = await policy.execute(({ attempt, signal }) => {
      signals.push(signal);
      return attempt === 1 ? new Promise<string>(() => {}) : 'second';
    });
    assert.equal(result, 'second');
    assert.equal(signals[0]!.aborted, true, 'the first attempt was told to stop');
    assert.ok(signals[0]!.reason instanceof TimeoutError);
    assert.equal(signals[1]!.aborted, false);
    const stats = registry.get('svc')!.stats;
    assert.deepEqual([stats.timeoutsTotal, stats.failures, stats.calls], [1, 1, 2]);
  });

  it('each retry goes through the breaker; once it opens, CircuitOpenError is not retried', async () => {
    const { registry, env } = setup();
    const policy = buildPolicy(
      { breaker: { name: 'svc', minimumCalls: 2 }, retry: { maxAttempts: 5 } },
      registry,
      undefined,
      env,
    );
    let attempts = 0;
    const error = await errorOf(
      policy.execute(() => (attempts++, Promise.reject(new Error('down')))),
    );
    assert.ok(error instanceof CircuitOpenError);
    assert.equal(
      attempts,
      2,
      'two failures opened it; the third attempt was rejected by the breaker',
    );
    assert.equal(policy.breaker?.state, 'open');
  });

  it('a call holds its bulkhead slot across its retries', async () => {
    const { registry } = setup();
    const gate = deferred<void>();
    const policy = buildPolicy(
      { retry: { maxAttempts: 2, budget: false }, bulkhead: { maxConcurrent: 1 } },
      registry,
      undefined,
      { retry: { clock: new FakeClock(), random: () => 0, sleep: () => gate.promise } },
    );
    let attempts = 0;
    const first = policy.execute(
      ({ attempt }) => (attempts++, attempt === 1 ? Promise.reject(new Error('x')) : 'ok'),
    );
    await new Promise((resolve) => setImmediate(resolve)); // the first attempt failed; sleeping
    assert.ok((await errorOf(policy.execute(() => 'other'))) instanceof BulkheadRejectedError);
    gate.resolve();
    assert.equal(await first, 'ok');
    assert.equal(attempts, 2);
  });

  it('the fallback is outermost: it sees an open circuit, a full bulkhead, the last error', async () => {
    const { registry, env } = setup();
    registry.getOrCreate('down', { minimumCalls: 1 });
    await errorOf(registry.get('down')!.execute(() => Promise.reject(new Error('x'))));
    const seen: unknown[] = [];
    const policy = buildPolicy(
      { breaker: 'down', retry: { maxAttempts: 3 } },
      registry,
      (error) => {
        seen.push(error);
        return 'fallback';
      },
      env,
    );
    assert.equal(await policy.execute(() => 'live'), 'fallback');
    assert.ok(seen[0] instanceof CircuitOpenError);
    const gate = deferred();
    const full = buildPolicy({ bulkhead: { maxConcurrent: 1 } }, registry, () => 'busy', env);
    const running = full.execute(() => gate.promise);
    assert.equal(await full.execute(() => 'x'), 'busy');
    gate.resolve('done');
    assert.equal(await running, 'done');
  });

  it('run(fn, call): the caller signal reaches the callee through every layer', async () => {
    const { registry, env } = setup();
    const policy = buildPolicy(
      {
        timeout: 60_000,
        breaker: 'svc',
        retry: { maxAttempts: 3 },
        bulkhead: { maxConcurrent: 1 },
      },
      registry,
      undefined,
      env,
    );
    const controller = new AbortController();
    let attempts = 0;
    const running = policy.run(
      ({ signal }) =>
        new Promise((_, reject) => {
          attempts++;
          signal.addEventListener('abort', () => reject(new Error('aborted by caller')));
        }),
      { signal: controller.signal, attempt: 1 },
    );
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    assert.equal(((await errorOf(running)) as Error).message, 'aborted by caller');
    assert.equal(attempts, 1, 'an aborted call is not retried');
  });

  it('a breaker named by a string is the node breaker of that name (created with defaults if new)', () => {
    const { registry } = setup();
    const existing = registry.getOrCreate('billing', { failureThreshold: 20 });
    assert.equal(buildPolicy({ breaker: 'billing' }, registry).breaker, existing);
    assert.equal(buildPolicy({ breaker: 'fresh' }, registry).breaker?.name, 'fresh');
    assert.throws(
      () => buildPolicy({ breaker: { name: 'billing', failureThreshold: 30 } }, registry),
      (error: unknown) =>
        error instanceof ValidationError && /failureThreshold 30 \(it has 20\)/.test(error.message),
    );
  });

  it('no options: the call as it is', async () => {
    const { registry } = setup();
    assert.equal(await buildPolicy({}, registry).execute(() => 5), 5);
  });

  it('validatePolicyOptions names where, and refuses unknown keys and bad values', () => {
    validatePolicyOptions({
      timeout: 100,
      breaker: 'b',
      retry: {},
      bulkhead: { maxConcurrent: 1 },
    });
    for (const bad of [
      { timeot: 5 },
      { timeout: 0 },
      { retry: { maxAttempts: -1 } },
      { bulkhead: {} },
      { breaker: {} },
      null,
    ]) {
      assert.throws(
        () => validatePolicyOptions(bad, 'resilience.services.billing'),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.message.startsWith('resilience.services.billing: '),
      );
    }
  });
});
