import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost } from '../../src/host/host.js';
import { definePlugin } from '../../src/host/define-plugin.js';
import { silentLogger } from './helpers.js';

/** Call `fn`; it must return a promise (never throw) and that promise must reject. */
async function rejectsNeverThrows(what: string, fn: () => unknown, code: string): Promise<void> {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    assert.fail(`${what} threw synchronously: ${String(error)}`);
  }
  assert.ok(result instanceof Promise, `${what} did not return a promise`);
  await assert.rejects(result, (error: any) => {
    assert.equal(error.code, code, `${what}: ${String(error)}`);
    return true;
  });
}

void describe('facades: promise-returning methods reject, never throw', () => {
  void it('rejects bad arguments through the promise', async () => {
    let ctx: PluginContext | undefined;
    const host = await createHost({
      logger: silentLogger,
      plugins: [
        definePlugin({
          name: 'probe',
          version: '1.0.0',
          activate(context) {
            ctx = context;
          },
        }),
      ],
    });
    await host.start();
    try {
      const c = ctx!;
      const anyCtx = c as any;
      await rejectsNeverThrows(
        'publish',
        () => anyCtx.eventBus.publish('bad..name', 1),
        'PB_VALIDATION',
      );
      await rejectsNeverThrows('publish', () => anyCtx.eventBus.publish(42, 1), 'PB_VALIDATION');
      await rejectsNeverThrows(
        'execute',
        () => anyCtx.pluginChain.execute('a.*', 1),
        'PB_VALIDATION',
      );
      await rejectsNeverThrows('call', () => anyCtx.rpcClient.call('', 'm', []), 'PB_VALIDATION');
      await rejectsNeverThrows(
        'callWithTimeout',
        () => anyCtx.rpcClient.callWithTimeout('svc', 'm', [], -5),
        'PB_VALIDATION',
      );
      await rejectsNeverThrows(
        'proxy method',
        () => anyCtx.rpcClient.proxy('bad..svc').method(1),
        'PB_VALIDATION',
      );
      await rejectsNeverThrows(
        'discover',
        () => anyCtx.serviceRegistry.discover('bad..type'),
        'PB_VALIDATION',
      );
      // Handle-returning methods still throw their own validation errors (attribution on).
      assert.throws(() => anyCtx.eventBus.subscribe('a.b', 'not a function'), {
        code: 'PB_VALIDATION',
      });
      assert.throws(() => anyCtx.eventBus.subscribe('a.b', undefined), { code: 'PB_VALIDATION' });
      assert.throws(() => anyCtx.rpcServer.register('svc', 42), { code: 'PB_VALIDATION' });
    } finally {
      await host.stop();
    }
    // After stop: every one of them rejects with ContextClosedError.
    const c = ctx! as any;
    await rejectsNeverThrows('publish', () => c.eventBus.publish('a.b', 1), 'PB_CONTEXT_CLOSED');
    await rejectsNeverThrows('execute', () => c.pluginChain.execute('a.b', 1), 'PB_CONTEXT_CLOSED');
    await rejectsNeverThrows('call', () => c.rpcClient.call('s', 'm', []), 'PB_CONTEXT_CLOSED');
    await rejectsNeverThrows(
      'discover',
      () => c.serviceRegistry.discover('payment-service'),
      'PB_CONTEXT_CLOSED',
    );
  });
});

void describe('closed memory ports reject, never throw', () => {
  void it('transport, registry and queue store reject with BackendUnavailableError', async () => {
    const backend = new MemoryBackend({ nodeId: 'closed-node' });
    await backend.start();
    await backend.close();
    const bytes = new Uint8Array([1]);
    const calls: Array<[string, () => unknown]> = [
      ['transport.publish', () => backend.transport.publish('t', bytes)],
      ['transport.send', () => backend.transport.send('x', 't', bytes)],
      ['transport.subscribe', () => backend.transport.subscribe('t', () => undefined)],
      ['transport.request', () => backend.transport.request('x', 't', bytes, Date.now() + 100)],
      ['transport.respond', () => backend.transport.respond('t', () => bytes)],
      ['registry.put', () => backend.registry.put('k', 'i', bytes)],
      ['registry.remove', () => backend.registry.remove('k', 'i')],
      ['registry.list', () => backend.registry.list('k')],
      ['registry.watch', () => backend.registry.watch('k', () => undefined)],
      ['registry.liveNodes', () => backend.registry.liveNodes()],
      ['queues.enqueue', () => backend.queues.enqueue('q', bytes)],
      ['queues.claim', () => backend.queues.claim('q', 'c', { count: 1, leaseMs: 10, waitMs: 0 })],
    ];
    for (const [what, fn] of calls) await rejectsNeverThrows(what, fn, 'PB_BACKEND_UNAVAILABLE');
  });
});
