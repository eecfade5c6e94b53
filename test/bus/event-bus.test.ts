import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { EventMeta, PluginErrorEvent } from '../../src/bus/types.js';
import { ContextClosedError, ValidationError } from '../../src/errors/errors.js';
import { startRuntime, type TestRuntime } from '../support/runtime.js';

describe('eventBus', () => {
  let rt: TestRuntime;
  beforeEach(async () => (rt = await startRuntime({ limits: { handlerTimeout: 200 } })));
  afterEach(() => rt.close());

  it("runs the chapter's example: publish, subscribe, unsubscribe", async () => {
    const seen: unknown[] = [];
    const subscription = rt.ctx('plugin-b').eventBus.subscribe('user.created', (data) => {
      seen.push(data);
    });
    await rt.ctx('plugin-a').eventBus.publish('user.created', { id: '123', name: 'John' });
    assert.deepEqual(seen, [{ id: '123', name: 'John' }]);
    subscription.unsubscribe();
    await rt.ctx('plugin-a').eventBus.publish('user.created', { id: '124', name: 'Jane' });
    assert.equal(seen.length, 1);
  });

  it('gives handlers (data, next, meta) with event, id, source and timestamp', async () => {
    let meta: EventMeta | undefined;
    let nextResult: unknown;
    rt.ctx('b').eventBus.subscribe('order.*', async (_data, next, m) => {
      meta = m;
      nextResult = await next(); // harmless in a plain publish
    });
    const before = Date.now();
    await rt.ctx('orders').eventBus.publish('order.paid', { total: 5 });
    assert.ok(meta);
    assert.equal(meta.event, 'order.paid');
    assert.equal(meta.source, 'orders');
    assert.equal(typeof meta.id, 'string');
    assert.ok(meta.timestamp >= before && meta.timestamp <= Date.now());
    assert.equal(meta.traceId, meta.id);
    assert.equal(nextResult, undefined);
  });

  it('gives a publish-time timestamp to a handler that reads meta through arguments', async () => {
    let timestamp = 0;
    rt.ctx('b').eventBus.subscribe('tick', function (this: unknown, _data: unknown) {
      // eslint-disable-next-line prefer-rest-params
      timestamp = (arguments[2] as EventMeta).timestamp;
    });
    const before = Date.now();
    await rt.ctx('a').eventBus.publish('tick');
    assert.ok(timestamp >= before && timestamp <= Date.now());
  });

  it('matches * (one segment) and ** (zero or more segments)', async () => {
    const hits: string[] = [];
    const bus = rt.ctx('w').eventBus;
    bus.subscribe('user.*', (_d, _n, m) => void hits.push(`star:${m.event}`));
    bus.subscribe('user.**', (_d, _n, m) => void hits.push(`glob:${m.event}`));
    await bus.publish('user.created');
    await bus.publish('user.profile.updated');
    await bus.publish('user');
    assert.deepEqual(hits, [
      'star:user.created',
      'glob:user.created',
      'glob:user.profile.updated',
      'glob:user',
    ]);
  });

  it('unsubscribe is idempotent in both forms, and once() fires once', async () => {
    const bus = rt.ctx('x').eventBus;
    let count = 0;
    const sub = bus.subscribe('tick', () => void count++);
    bus.unsubscribe(sub);
    bus.unsubscribe(sub);
    sub.unsubscribe();
    assert.equal(sub.active, false);
    assert.equal(await sub.closed, 'unsubscribed');
    await sub.ready; // a plain subscription is in effect at once
    let onceCount = 0;
    const once = bus.once('tick', () => void onceCount++);
    await bus.publish('tick');
    await bus.publish('tick');
    assert.equal(count, 0);
    assert.equal(onceCount, 1);
    assert.equal(await once.closed, 'once');
  });

  it('resolves publish only after async handlers settle', async () => {
    const bus = rt.ctx('x').eventBus;
    let done = false;
    bus.subscribe('slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      done = true;
    });
    await bus.publish('slow');
    assert.equal(done, true);
  });

  it('reports a throwing handler as plugin.error without failing the publish or other handlers', async () => {
    const errors: PluginErrorEvent[] = [];
    rt.ctx('monitor').eventBus.subscribe(
      'plugin.error',
      (e) => void errors.push(e as PluginErrorEvent),
    );
    let otherRan = 0;
    rt.ctx('bad').eventBus.subscribe('job.run', () => {
      throw new Error('boom');
    });
    rt.ctx('bad-async').eventBus.subscribe('job.run', async () => {
      throw Object.assign(new Error('async boom'), { code: 'E_ASYNC' });
    });
    rt.ctx('good').eventBus.subscribe('job.run', () => void otherRan++);
    await rt.ctx('runner').eventBus.publish('job.run', {});
    assert.equal(otherRan, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(errors.map((e) => [e.pluginId, e.event, e.error]).sort(), [
      ['bad', 'job.run', 'boom'],
      ['bad-async', 'job.run', 'async boom'],
    ]);
    assert.match(errors[0]!.stack ?? '', /boom/);
  });

  it('does not loop when a plugin.error handler itself throws', async () => {
    let calls = 0;
    rt.ctx('m').eventBus.subscribe('plugin.error', () => {
      calls++;
      throw new Error('handler of errors fails too');
    });
    rt.ctx('bad').eventBus.subscribe('x.y', () => {
      throw new Error('first');
    });
    await rt.ctx('p').eventBus.publish('x.y');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls, 1);
  });

  it('stops waiting for a handler that never resolves and reports a TimeoutError', async () => {
    const errors: PluginErrorEvent[] = [];
    rt.ctx('m').eventBus.subscribe('plugin.error', (e) => void errors.push(e as PluginErrorEvent));
    rt.ctx('stuck').eventBus.subscribe('never', () => new Promise(() => undefined));
    const started = Date.now();
    await rt.ctx('p').eventBus.publish('never');
    assert.ok(Date.now() - started < 2000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(errors[0]?.pluginId, 'stuck');
    assert.equal(errors[0]?.code, 'PB_TIMEOUT');
  });

  it('shares events among a group round-robin, while plain subscribers get all', async () => {
    const got: string[] = [];
    for (const name of ['w1', 'w2', 'w3']) {
      rt.ctx(name).eventBus.subscribe('task.created', () => void got.push(name), {
        group: 'workers',
      });
    }
    let plain = 0;
    rt.ctx('audit').eventBus.subscribe('task.*', () => void plain++);
    for (let i = 0; i < 6; i++) await rt.ctx('p').eventBus.publish('task.created', { i });
    assert.deepEqual(got, ['w1', 'w2', 'w3', 'w1', 'w2', 'w3']);
    assert.equal(plain, 6);
  });

  it('calls handlers by priority, then subscription order', async () => {
    const order: string[] = [];
    const bus = rt.ctx('x').eventBus;
    bus.subscribe('e', () => void order.push('low'), { priority: -1 });
    bus.subscribe('e', () => void order.push('first-default'));
    bus.subscribe('e', () => void order.push('high'), { priority: 10 });
    bus.subscribe('e', () => void order.push('second-default'));
    await bus.publish('e');
    assert.deepEqual(order, ['high', 'first-default', 'second-default', 'low']);
  });

  it('rejects malformed names and non-function handlers with ValidationError', async () => {
    const bus = rt.ctx('x').eventBus;
    // publish returns a promise: a bad name rejects, it never throws synchronously
    for (const bad of ['', 'a..b', 'has space', '.lead', 'trail.', 'user.*', 'a.**', 42]) {
      let promise: Promise<void> | undefined;
      assert.doesNotThrow(() => (promise = bus.publish(bad as string)), `publish ${String(bad)}`);
      await assert.rejects(promise!, ValidationError, `publish ${JSON.stringify(bad)}`);
    }
    for (const bad of ['', 'a..b', 'x y', 'a.*b']) {
      assert.throws(() => bus.subscribe(bad, () => undefined), ValidationError, `subscribe ${bad}`);
    }
    assert.throws(() => bus.subscribe('ok', 'nope' as unknown as () => void), ValidationError);
    assert.throws(
      () => bus.subscribe('ok', () => undefined, { priority: Number.NaN }),
      ValidationError,
    );
    assert.throws(() => bus.subscribe('ok', () => undefined, { group: 'a b' }), ValidationError);
    assert.throws(() => bus.unsubscribe({} as never), ValidationError);
  });

  it('lets a handler unsubscribe itself or others during dispatch', async () => {
    const bus = rt.ctx('x').eventBus;
    const order: string[] = [];
    const second = bus.subscribe('e', () => void order.push('second'), { priority: 1 });
    bus.subscribe(
      'e',
      () => {
        order.push('first');
        second.unsubscribe();
      },
      { priority: 2 },
    );
    await bus.publish('e');
    await bus.publish('e');
    assert.deepEqual(order, ['first', 'first']);
  });

  it('refuses new work through the context of a stopped plugin', async () => {
    const scoped = rt.scoped('gone');
    scoped.context.eventBus.subscribe('a', () => undefined);
    await scoped.release(100);
    assert.deepEqual(scoped.holdings().subscriptions, 0);
    await assert.rejects(scoped.context.eventBus.publish('a'), ContextClosedError);
    assert.throws(
      () => scoped.context.eventBus.subscribe('a', () => undefined),
      ContextClosedError,
    );
  });
});
