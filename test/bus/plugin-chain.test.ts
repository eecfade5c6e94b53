import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ChainHandlerError, ChainNextCalledTwiceError } from '../../src/errors/errors.js';
import { startRuntime, type TestRuntime } from '../support/runtime.js';

describe('pluginChain', () => {
  let rt: TestRuntime;
  beforeEach(async () => (rt = await startRuntime()));
  afterEach(() => rt.close());

  it("runs the chapter's chain example and resolves with the data", async () => {
    rt.ctx('plugin-a').eventBus.subscribe('request.received', async (data: any, next) => {
      data.userId = '123';
      await next();
    });
    rt.ctx('plugin-b').eventBus.subscribe('request.received', async (data: any, next) => {
      data.timestamp = Date.now();
      await next();
    });
    const result = (await rt
      .ctx('app')
      .pluginChain.execute('request.received', { url: '/api/users' })) as any;
    assert.equal(result.url, '/api/users');
    assert.equal(result.userId, '123');
    assert.equal(typeof result.timestamp, 'number');
  });

  it('orders by priority (higher first), then subscription order, around next()', async () => {
    const trace: string[] = [];
    const bus = rt.ctx('p').eventBus;
    const step = (name: string) => async (_d: unknown, next: () => Promise<void>) => {
      trace.push(`>${name}`);
      await next();
      trace.push(`<${name}`);
    };
    bus.subscribe('pipe', step('b'));
    bus.subscribe('pipe', step('a'), { priority: 5 });
    bus.subscribe('pipe', step('c'));
    await rt.ctx('app').pluginChain.execute('pipe', {});
    assert.deepEqual(trace, ['>a', '>b', '>c', '<c', '<b', '<a']);
  });

  it('short-circuits when a handler does not call next()', async () => {
    const trace: string[] = [];
    rt.ctx('guard').eventBus.subscribe(
      'req',
      (data: any) => {
        data.blocked = true;
        trace.push('guard');
      },
      { priority: 1 },
    );
    rt.ctx('after').eventBus.subscribe('req', () => void trace.push('after'));
    const out = (await rt.ctx('app').pluginChain.execute('req', {})) as any;
    assert.deepEqual(trace, ['guard']);
    assert.equal(out.blocked, true);
  });

  it("rejects with the handler's own error, naming the plugin", async () => {
    class QuotaError extends Error {}
    rt.ctx('first').eventBus.subscribe('req', async (_d, next) => next(), { priority: 1 });
    rt.ctx('limiter').eventBus.subscribe('req', () => {
      throw new QuotaError('over quota');
    });
    const error = await rt
      .ctx('app')
      .pluginChain.execute('req', {})
      .then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof QuotaError);
    assert.equal((error as QuotaError & { pluginId: string }).pluginId, 'limiter');
  });

  it('wraps thrown non-errors in ChainHandlerError', async () => {
    rt.ctx('odd').eventBus.subscribe('req', () => {
      throw 'a string'; // eslint-disable-line @typescript-eslint/only-throw-error
    });
    await assert.rejects(rt.ctx('app').pluginChain.execute('req', {}), (e: unknown) => {
      assert.ok(e instanceof ChainHandlerError);
      assert.equal(e.details.pluginId, 'odd');
      return true;
    });
  });

  it('detects next() called twice', async () => {
    rt.ctx('twice').eventBus.subscribe('req', async (_d, next) => {
      await next();
      await next();
    });
    await assert.rejects(rt.ctx('app').pluginChain.execute('req', {}), (e: unknown) => {
      assert.ok(e instanceof ChainNextCalledTwiceError);
      assert.match(e.message, /twice/);
      assert.equal(e.details.pluginId, 'twice');
      return true;
    });
  });

  it('resolves with the data unchanged when nobody subscribes', async () => {
    const data = { a: 1 };
    assert.equal(await rt.ctx('app').pluginChain.execute('nobody.home', data), data);
  });
});

describe('pluginChain edge cases', () => {
  let rt: TestRuntime;
  beforeEach(async () => (rt = await startRuntime()));
  afterEach(() => rt.close());

  it('waits for the rest of the chain even when next() is not awaited, and rejects with its error', async () => {
    rt.ctx('sloppy').eventBus.subscribe('req', (_d, next) => void next(), { priority: 1 });
    rt.ctx('late').eventBus.subscribe('req', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('late failure');
    });
    await assert.rejects(rt.ctx('app').pluginChain.execute('req', {}), /late failure/);
  });

  it('wraps a frozen error instead of failing to annotate it', async () => {
    const frozen: Error = Object.freeze(new Error('frozen'));
    rt.ctx('ice').eventBus.subscribe('req', () => {
      throw frozen;
    });
    await assert.rejects(rt.ctx('app').pluginChain.execute('req', {}), (e: unknown) => {
      assert.ok(e instanceof ChainHandlerError);
      assert.equal(e.cause, frozen);
      assert.equal(e.details.pluginId, 'ice');
      return true;
    });
  });
});
