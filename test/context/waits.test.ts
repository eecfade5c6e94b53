/**
 * `eventBus.waitFor` and `rpcClient.waitForService`: they resolve with what was awaited, are
 * bounded (`TimeoutError` naming it), end when the plugin stops (`ContextClosedError`), and
 * hold nothing once settled.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ContextClosedError, TimeoutError, ValidationError } from '../../src/errors/errors.js';
import { startRuntime, type TestRuntime } from '../support/runtime.js';

let rt: TestRuntime;
beforeEach(async () => (rt = await startRuntime()));
afterEach(() => rt.close());

/** Nothing held by plugin `name`, nor by the runtime for it. */
function assertNothingHeld(name: string): void {
  assert.equal(rt.scoped(name).holdings().subscriptions, 0);
  assert.equal(rt.runtime.stats().subscriptions, 0);
}

describe('eventBus.waitFor', () => {
  it('resolves with the next matching event, skipping what the filter refuses', async () => {
    const waiting = rt
      .ctx('waiter')
      .eventBus.waitFor('order.*', { filter: (data) => (data as { id: number }).id === 2 });
    assert.equal(rt.scoped('waiter').holdings().subscriptions, 1);
    const bus = rt.ctx('shop').eventBus;
    await bus.publish('order.created', { id: 1 });
    await bus.publish('order.created', { id: 2 });
    const { data, meta } = await waiting;
    assert.deepEqual(data, { id: 2 });
    assert.equal(meta.event, 'order.created');
    assert.equal(meta.source, 'shop');
    assertNothingHeld('waiter');
  });

  it('rejects with a TimeoutError naming the pattern, and lets its subscription go', async () => {
    const error = await rt
      .ctx('waiter')
      .eventBus.waitFor('never.*', { timeout: 30 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError);
    assert.match(error.message, /"never\.\*"/);
    assert.match(error.message, /waiter/);
    assert.deepEqual(error.details, { pluginId: 'waiter', pattern: 'never.*', timeout: 30 });
    assertNothingHeld('waiter');
  });

  it('rejects with ContextClosedError when the plugin stops while waiting', async () => {
    const waiting = rt.ctx('waiter').eventBus.waitFor('order.created', { timeout: 60_000 });
    const { unfinished } = await rt.scoped('waiter').release(1000);
    assert.deepEqual(unfinished, []);
    await assert.rejects(waiting, ContextClosedError);
    assert.equal(rt.runtime.stats().subscriptions, 0);
    // A stopped plugin cannot wait any more.
    await assert.rejects(rt.ctx('waiter').eventBus.waitFor('order.created'), ContextClosedError);
  });

  it('rejects with the filter’s error when the filter throws', async () => {
    const waiting = rt.ctx('waiter').eventBus.waitFor('order.created', {
      filter: () => {
        throw new Error('bad filter');
      },
    });
    await rt.ctx('shop').eventBus.publish('order.created', {});
    await assert.rejects(waiting, /bad filter/);
    assertNothingHeld('waiter');
  });

  it('rejects bad arguments (never throws)', async () => {
    const bus = rt.ctx('waiter').eventBus;
    await assert.rejects(bus.waitFor('order.created', { timeout: -1 }), ValidationError);
    await assert.rejects(
      bus.waitFor('order.created', { filter: 'x' as unknown as () => boolean }),
      ValidationError,
    );
    await assert.rejects(bus.waitFor('bad..name'), ValidationError);
    assertNothingHeld('waiter');
  });

  it('defaults its bound to the host rpcTimeout', async () => {
    await rt.close();
    rt = await startRuntime({ limits: { rpcTimeout: 20 } });
    const error = await rt
      .ctx('waiter')
      .eventBus.waitFor('x.y')
      .catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.details['timeout'], 20);
  });
});

describe('rpcClient.waitForService', () => {
  it('resolves at once when a provider is there, or as soon as one registers', async () => {
    const client = rt.ctx('caller').rpcClient;
    const later = client.waitForService('math', { timeout: 5000 });
    assert.equal(rt.scoped('caller').holdings().subscriptions, 1);
    rt.ctx('provider').rpcServer.register('math', { add: (a: number, b: number) => a + b });
    const status = await later;
    assert.equal(status.status, 'available');
    assert.equal(status.instances[0]?.pluginId, 'provider');
    assert.equal((await client.waitForService('math')).status, 'available');
    assert.equal(rt.scoped('caller').holdings().subscriptions, 0);
  });

  it('rejects with a TimeoutError naming the service, and stops watching', async () => {
    const error = await rt
      .ctx('caller')
      .rpcClient.waitForService('missing', { timeout: 30 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof TimeoutError);
    assert.match(error.message, /"missing"/);
    assert.deepEqual(error.details, { pluginId: 'caller', service: 'missing', timeout: 30 });
    assert.equal(rt.scoped('caller').holdings().subscriptions, 0);
  });

  it('rejects with ContextClosedError when the plugin stops while waiting', async () => {
    const waiting = rt.ctx('caller').rpcClient.waitForService('missing', { timeout: 60_000 });
    await rt.scoped('caller').release(1000);
    await assert.rejects(waiting, ContextClosedError);
    await assert.rejects(rt.ctx('caller').rpcClient.waitForService('missing'), ContextClosedError);
  });

  it('rejects bad arguments (never throws)', async () => {
    const client = rt.ctx('caller').rpcClient;
    await assert.rejects(client.waitForService('math', { timeout: 0 }), ValidationError);
    await assert.rejects(client.waitForService(''), ValidationError);
    assert.equal(rt.scoped('caller').holdings().subscriptions, 0);
  });
});
