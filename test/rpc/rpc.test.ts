import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  BackpressureError,
  ContextClosedError,
  MethodNotFoundError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
} from '../../src/errors/errors.js';
import type { ServiceStatus } from '../../src/rpc/types.js';
import { startRuntime, type TestRuntime } from '../support/runtime.js';

describe('rpcServer / rpcClient (one host)', () => {
  let rt: TestRuntime;
  beforeEach(
    async () => (rt = await startRuntime({ limits: { rpcTimeout: 300, maxInFlightCalls: 5 } })),
  );
  afterEach(() => rt.close());

  it("runs the chapter's calculator example", async () => {
    rt.ctx('plugin-a').rpcServer.register('calculator', {
      add: (a: number, b: number) => a + b,
      multiply: (a: number, b: number) => a * b,
    });
    assert.equal(await rt.ctx('plugin-b').rpcClient.call('calculator', 'add', [2, 3]), 5);
    assert.equal(await rt.ctx('plugin-b').rpcClient.call('calculator', 'multiply', [2, 3]), 6);
  });

  it('calls async methods, class instances, and methods without params', async () => {
    class Clock {
      private readonly base = 40;
      now() {
        return this.base + 2;
      }
    }
    rt.ctx('p').rpcServer.register('clock', new Clock());
    rt.ctx('p').rpcServer.register('users', { get: async (id: string) => ({ id }) });
    assert.equal(await rt.ctx('c').rpcClient.call('clock', 'now'), 42);
    assert.deepEqual(await rt.ctx('c').rpcClient.call('users', 'get', ['7']), { id: '7' });
  });

  it('passes the thrown error through with its name, message and code', async () => {
    rt.ctx('p').rpcServer.register('pay', {
      charge: () => {
        throw Object.assign(new RangeError('card declined'), { code: 'E_DECLINED' });
      },
      chargeAsync: async () => {
        throw Object.assign(new Error('insufficient funds'), { code: 'E_FUNDS' });
      },
    });
    await assert.rejects(rt.ctx('c').rpcClient.call('pay', 'charge', []), {
      name: 'RangeError',
      message: 'card declined',
      code: 'E_DECLINED',
    });
    await assert.rejects(rt.ctx('c').rpcClient.call('pay', 'chargeAsync', []), {
      message: 'insufficient funds',
      code: 'E_FUNDS',
    });
  });

  it('fails with ServiceUnavailableError, MethodNotFoundError, TimeoutError', async () => {
    const client = rt.ctx('c').rpcClient;
    await assert.rejects(client.call('nobody', 'x'), ServiceUnavailableError);
    rt.ctx('p').rpcServer.register('svc', {
      slow: () => new Promise(() => undefined),
      ok: () => 1,
    });
    await assert.rejects(client.call('svc', 'missing'), MethodNotFoundError);
    await assert.rejects(client.call('svc', 'toString'), MethodNotFoundError);
    await assert.rejects(client.call('svc', 'constructor'), MethodNotFoundError);
    const started = Date.now();
    await assert.rejects(client.callWithTimeout('svc', 'slow', [], 50), (e: unknown) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.code, 'PB_TIMEOUT');
      return true;
    });
    assert.ok(Date.now() - started < 1000);
    // the host default (300 ms here) applies when no timeout is given: nothing waits forever
    await assert.rejects(client.call('svc', 'slow'), TimeoutError);
  });

  it('rejects bad arguments with ValidationError', async () => {
    const client = rt.ctx('c').rpcClient;
    rt.ctx('p').rpcServer.register('svc', { ok: () => 1 });
    // Promise-returning APIs never throw: every bad argument is a rejection.
    const badNames: unknown[] = ['bad name', '', 'x'.repeat(300), 42, undefined, Symbol('s')];
    let promise: Promise<unknown> | undefined;
    for (const bad of badNames) {
      assert.doesNotThrow(() => (promise = client.call(bad as never, 'x' as never)), String(bad));
      await assert.rejects(promise!, ValidationError);
      assert.doesNotThrow(
        () => (promise = client.callWithTimeout(bad as never, 'x' as never, [], 50)),
      );
      await assert.rejects(promise!, ValidationError);
      assert.doesNotThrow(() => (promise = (client.proxy(bad as never) as any).x()));
      await assert.rejects(promise!, ValidationError);
    }
    assert.doesNotThrow(
      () => (promise = client.call('svc', 'ok', [], { timeout: Symbol() as never })),
    );
    await assert.rejects(promise!, ValidationError);
    await assert.rejects(client.call('svc', 5 as never), ValidationError);
    await assert.rejects(client.call('svc', ''), ValidationError);
    await assert.rejects(client.call('svc', 'ok', 5 as never), ValidationError);
    await assert.rejects(client.callWithTimeout('svc', 'ok', [], -1), ValidationError);
    assert.throws(() => rt.ctx('p').rpcServer.register('empty', {}), ValidationError);
    assert.throws(() => rt.ctx('p').rpcServer.register('nul', null as never), ValidationError);
    assert.throws(
      () => rt.ctx('p').rpcServer.register('svc2', { a: () => 1 }, { idempotent: ['b'] }),
      ValidationError,
    );
  });

  it('load-balances several providers round-robin', async () => {
    for (const name of ['p1', 'p2', 'p3'])
      rt.ctx(name).rpcServer.register('who', { am: () => name });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await rt.ctx('c').rpcClient.call('who', 'am'));
    assert.deepEqual(answers, ['p1', 'p2', 'p3', 'p1', 'p2', 'p3']);
  });

  it('removes a provider when its plugin stops, and tells subscribeService', async () => {
    const statuses: ServiceStatus[] = [];
    rt.ctx('watcher').rpcClient.subscribeService('calc', (s) => statuses.push(s));
    const provider = rt.scoped('provider');
    provider.context.rpcServer.register('calc', { one: () => 1 });
    assert.equal(await rt.ctx('c').rpcClient.call('calc', 'one'), 1);
    await provider.release(100);
    await assert.rejects(rt.ctx('c').rpcClient.call('calc', 'one'), ServiceUnavailableError);
    assert.deepEqual(
      statuses.map((s) => [s.status, s.instances.length]),
      [
        ['unavailable', 0],
        ['available', 1],
        ['unavailable', 0],
      ],
    );
    assert.equal(statuses[1]!.instances[0]!.pluginId, 'provider');
    await assert.rejects(provider.context.rpcClient.call('calc', 'one'), ContextClosedError);
  });

  it('gives BackpressureError past the in-flight bound', async () => {
    const gates: Array<() => void> = [];
    rt.ctx('p').rpcServer.register('gate', {
      wait: () => new Promise<void>((resolve) => gates.push(resolve)),
    });
    const client = rt.ctx('c').rpcClient;
    const calls = Array.from({ length: 5 }, () => client.call('gate', 'wait'));
    await assert.rejects(client.call('gate', 'wait'), BackpressureError);
    assert.equal(gates.length, 5, 'a refused call never runs the method');
    for (const open of gates) open();
    await Promise.all(calls);
  });

  it('calls only providers that have the method, and preferLocal changes nothing on one host', async () => {
    rt.ctx('p1').rpcServer.register('mixed', { a: () => 'p1' });
    rt.ctx('p2').rpcServer.register('mixed', { a: () => 'p2', b: () => 'p2' });
    const client = rt.ctx('c').rpcClient;
    for (let i = 0; i < 4; i++) assert.equal(await client.call('mixed', 'b'), 'p2');
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await client.call('mixed', 'a', [], { preferLocal: i % 2 === 0 }));
    assert.deepEqual(new Set(answers), new Set(['p1', 'p2']));
    await assert.rejects(client.call('mixed', 'c'), MethodNotFoundError);
  });

  it('offers a typed proxy whose methods return promises', async () => {
    rt.ctx('p').rpcServer.register('calculator', { add: (a: number, b: number) => a + b });
    const calc = rt.ctx('c').rpcClient.proxy('calculator');
    assert.equal(await (calc as any).add(4, 5), 9);
    assert.equal((calc as any).then, undefined);
  });

  it('unregister is idempotent', async () => {
    const reg = rt.ctx('p').rpcServer.register('x', { a: () => 1 });
    await reg.ready;
    await reg.unregister();
    await reg.unregister();
    assert.equal(rt.scoped('p').holdings().registrations, 0);
    await assert.rejects(rt.ctx('c').rpcClient.call('x', 'a'), ServiceUnavailableError);
  });
});
