/** `context.circuitBreakerFactory` through a real runtime: one breaker per name per node. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContextClosedError, ValidationError } from '../../src/errors/errors.js';
import { BreakerRegistry } from '../../src/resilience/breaker-registry.js';
import type { CircuitStateChange } from '../../src/resilience/types.js';
import { eventually, silentLogger, startRuntime, type TestRuntime } from '../support/runtime.js';
import { errorOf } from './support.js';

const down = () => Promise.reject(new Error('down'));

describe('circuitBreakerFactory', () => {
  let rt: TestRuntime;
  before(async () => (rt = await startRuntime()));
  after(() => rt.close());

  it('one breaker per name per node: every plugin sees the same state', async () => {
    const a = rt.ctx('a').circuitBreakerFactory.create('shared-svc', { minimumCalls: 1 });
    const b = rt.ctx('b').circuitBreakerFactory.create('shared-svc', { minimumCalls: 1 });
    assert.equal(rt.ctx('a').circuitBreakerFactory.create('shared-svc'), a, 'same view per plugin');
    await errorOf(a.execute(down));
    assert.equal(b.state, 'open');
    assert.equal(rt.ctx('b').circuitBreakerFactory.get('shared-svc')?.state, 'open');
    assert.ok(
      rt
        .ctx('c')
        .circuitBreakerFactory.list()
        .some((x) => x.name === 'shared-svc'),
    );
    assert.equal(rt.ctx('c').circuitBreakerFactory.get('nope'), undefined);
    b.reset();
    assert.equal(a.state, 'closed');
  });

  it('creating an existing name with other options is a ValidationError; without options, a lookup', () => {
    const f = rt.ctx('a').circuitBreakerFactory;
    f.create('tuned', { failureThreshold: 25, timeout: 1000 });
    assert.throws(
      () => rt.ctx('b').circuitBreakerFactory.create('tuned', { failureThreshold: 50 }),
      (error: unknown) =>
        error instanceof ValidationError &&
        (error.details['fields'] as string[]).includes('failureThreshold'),
    );
    assert.equal(rt.ctx('b').circuitBreakerFactory.create('tuned').name, 'tuned');
    // The same options (defaults filled in) are fine.
    rt.ctx('b').circuitBreakerFactory.create('tuned', {
      failureThreshold: 25,
      timeout: 1000,
      minimumCalls: 10,
    });
  });

  it('rejects bad names', () => {
    assert.throws(() => rt.ctx('a').circuitBreakerFactory.create(''), ValidationError);
    assert.throws(() => rt.ctx('a').circuitBreakerFactory.create('a b'), ValidationError);
  });

  it("a plugin's listeners are released when it stops; a throwing listener is the plugin's error", async () => {
    const errors: { pluginId: string; event: string }[] = [];
    void rt.ctx('watcher').eventBus.subscribe('plugin.error', (e) => void errors.push(e as never));
    const leaving = rt.scoped('leaving');
    const seenByLeaving: string[] = [];
    const seenByStaying: string[] = [];
    leaving.context.circuitBreakerFactory
      .create('events-svc', { minimumCalls: 1 })
      .on('stateChange', (c: CircuitStateChange) => {
        seenByLeaving.push(c.to);
      });
    const staying = rt.ctx('staying').circuitBreakerFactory.create('events-svc');
    staying.on('stateChange', (c) => seenByStaying.push(c.to));
    staying.on('open', () => {
      throw new Error('listener failed');
    });
    await errorOf(staying.execute(down));
    assert.deepEqual(seenByLeaving, ['open']);
    await eventually(() => errors.length > 0, 5000, 'plugin.error');
    assert.equal(errors[0]!.pluginId, 'staying');
    assert.equal(errors[0]!.event, 'circuitBreaker.events-svc.open');
    await leaving.release(1000);
    staying.reset();
    assert.deepEqual(seenByLeaving, ['open'], 'released with its plugin');
    assert.deepEqual(seenByStaying, ['open', 'closed']);
    assert.throws(() => leaving.context.circuitBreakerFactory.create('x'), ContextClosedError);
  });

  it("a plugin's policies end with it: a retry sleeping is cut short", async () => {
    const scoped = rt.scoped('retrier');
    const policy = scoped.context.circuitBreakerFactory.retry({
      maxAttempts: 5,
      delay: 60_000,
      jitter: 'none',
    });
    let attempts = 0;
    const running = policy.execute(() => (attempts++, Promise.reject(new Error('down'))));
    await new Promise((resolve) => setImmediate(resolve));
    await scoped.release(1000);
    assert.equal(((await errorOf(running)) as Error).message, 'down');
    assert.equal(attempts, 1);
  });

  it('timeout, bulkhead, fallback and policy() are there', async () => {
    const f = rt.ctx('a').circuitBreakerFactory;
    assert.equal(await f.timeout(1000).execute(() => 1), 1);
    const bulkhead = f.bulkhead({ maxConcurrent: 2 });
    assert.equal(await bulkhead.execute(() => 2), 2);
    assert.equal(bulkhead.running, 0);
    assert.equal(await f.fallback(() => 'fb').execute(down), 'fb');
    assert.equal(await f.policy({ breaker: 'p', timeout: 1000 }, () => 'fb').execute(down), 'fb');
    assert.throws(() => f.timeout(0), ValidationError);
  });

  it("the node's breakers (and their open timers) end with the runtime", async () => {
    const own = await startRuntime();
    const breaker = own.ctx('a').circuitBreakerFactory.create('closing-svc', { minimumCalls: 1 });
    await errorOf(breaker.execute(down));
    assert.equal(breaker.state, 'open');
    await own.close();
    assert.deepEqual(own.ctx('a').circuitBreakerFactory.list(), []);
  });

  it('the registry is bounded, with an error that says why', () => {
    const registry = new BreakerRegistry({ logger: silentLogger, maxBreakers: 2 });
    registry.getOrCreate('one');
    registry.getOrCreate('two');
    registry.getOrCreate('one'); // existing: fine
    assert.throws(
      () => registry.getOrCreate('three'),
      (error: unknown) => error instanceof ValidationError && /has 2 already/.test(error.message),
    );
    registry.close();
    assert.equal(registry.size, 0);
  });
});
