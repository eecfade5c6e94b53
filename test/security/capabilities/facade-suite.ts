import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../../src/context/types.js';
import { PermissionDeniedError } from '../../../src/errors/errors.js';
import { capsHost, type CapsHost } from './caps-host.js';

const denied = (what: string) => (error: unknown) => {
  assert.ok(error instanceof PermissionDeniedError, `${what}: ${String(error)}`);
  assert.equal(error.code, 'PB_PERMISSION_DENIED');
  assert.equal((error.details as { plugin: string }).plugin, 'limited');
  return true;
};

/** A promise-returning method must reject with the denial, never throw. */
async function rejectsDenied(what: string, call: () => Promise<unknown>): Promise<void> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    assert.fail(`${what} threw synchronously instead of rejecting: ${String(error)}`);
  }
  await assert.rejects(promise, denied(what));
}

/**
 * Every facade of a plugin with a list denies what the list does not cover, before any side
 * effect: `spy` (trusted) checks that nothing reached the backend or another plugin.
 */
export function facadeDenials(redis: boolean): void {
  void describe(`capabilities deny before any side effect (${redis ? 'Redis' : 'memory'})`, () => {
    let env: CapsHost;
    let spy: PluginContext;
    let limited: PluginContext;
    before(async () => {
      env = await capsHost(redis, {
        spy: undefined,
        // A list that covers none of what the tests try (only `open.*` events).
        limited: ['events:publish:open.*'],
      });
      spy = env.contexts['spy']!;
      limited = env.contexts['limited']!;
    });
    after(() => env.stop());

    void it('events: publish, subscribe, once, waitFor, chain', async () => {
      const seen: string[] = [];
      const heard = new Promise<void>((resolve) =>
        spy.eventBus.subscribe('secret.**', (_data, _next, meta) => {
          seen.push(meta.event);
          if (meta.event === 'secret.after') resolve();
        }),
      );
      await rejectsDenied('publish', () => limited.eventBus.publish('secret.created', { x: 1 }));
      await rejectsDenied('chain', () => limited.pluginChain.execute('secret.chain', {}));
      await rejectsDenied('waitFor', () => limited.eventBus.waitFor('secret.x', { timeout: 50 }));
      assert.throws(() => limited.eventBus.subscribe('secret.created', () => {}), denied('sub'));
      assert.throws(() => limited.eventBus.once('secret.**', () => {}), denied('once'));
      assert.throws(() => limited.eventBus.subscribe('**', () => {}), denied('**'));
      await spy.eventBus.publish('secret.after', {});
      await heard;
      assert.deepEqual(seen, ['secret.after']);
      // What the list grants works.
      await limited.eventBus.publish('open.door', {});
      assert.equal(env.host.health().plugins['limited']?.holdings?.subscriptions ?? 0, 0);
    });

    void it('rpc: register, call, callWithTimeout, proxy, waitForService, subscribeService', async () => {
      let calls = 0;
      spy.rpcServer.register('vault', { open: () => ++calls });
      const providers = env.host.health().runtime?.localProviders;
      assert.throws(() => limited.rpcServer.register('vault', { open: () => 0 }), denied('reg'));
      assert.equal(env.host.health().runtime?.localProviders, providers);
      await rejectsDenied('call', () => limited.rpcClient.call('vault', 'open'));
      await rejectsDenied('callWithTimeout', () =>
        limited.rpcClient.callWithTimeout('vault', 'open', [], 100),
      );
      const proxy = limited.rpcClient.proxy('vault') as { open(): Promise<unknown> };
      await rejectsDenied('proxy', () => proxy.open());
      await rejectsDenied('waitForService', () => limited.rpcClient.waitForService('vault'));
      assert.throws(() => limited.rpcClient.subscribeService('vault', () => {}), denied('watch'));
      assert.equal(calls, 0);
      assert.equal(await spy.rpcClient.call('vault', 'open'), 1);
    });

    void it('service registry: register, discover, watch', async () => {
      assert.throws(
        () =>
          limited.serviceRegistry.register('secret-service', {
            name: 'x',
            version: '1.0.0',
            endpoint: 'x',
          }),
        denied('register'),
      );
      assert.deepEqual(await spy.serviceRegistry.discover('secret-service'), []);
      await rejectsDenied('discover', () => limited.serviceRegistry.discover('secret-service'));
      assert.throws(() => limited.serviceRegistry.watch('secret-service', () => {}), denied('w'));
    });

    void it('message queue: sends, receive and every admin operation', async () => {
      const q = 'secret.jobs';
      await rejectsDenied('send', () => limited.messageQueue.send(q, { a: 1 }));
      await rejectsDenied('sendDelayed', () => limited.messageQueue.sendDelayed(q, {}, 10));
      await rejectsDenied('sendWithRetry', () =>
        limited.messageQueue.sendWithRetry(q, {}, { maxRetries: 1, backoff: 'fixed', delay: 10 }),
      );
      await rejectsDenied('repeat', () =>
        limited.messageQueue.repeat(q, {}, { every: 1000 }, { name: 'r' }),
      );
      const stats = await spy.messageQueue.stats(q);
      assert.equal(stats.waiting + stats.delayed + stats.inFlight, 0);
      assert.throws(() => limited.messageQueue.receive(q, () => {}), denied('receive'));
      const id = await spy.messageQueue.send(q, { kept: true });
      await rejectsDenied('cancel', () => limited.messageQueue.cancel(q, id));
      await rejectsDenied('stats', () => limited.messageQueue.stats(q));
      await rejectsDenied('deadLetters', () => limited.messageQueue.deadLetters(q));
      await rejectsDenied('retryDeadLetter', () => limited.messageQueue.retryDeadLetter(q, id));
      await rejectsDenied('retryDeadLetters', () => limited.messageQueue.retryDeadLetters(q));
      await rejectsDenied('removeDeadLetter', () => limited.messageQueue.removeDeadLetter(q, id));
      await rejectsDenied('purgeDeadLetters', () => limited.messageQueue.purgeDeadLetters(q));
      assert.equal((await spy.messageQueue.stats(q)).waiting, 1);
      assert.equal(await spy.messageQueue.cancel(q, id), true);
    });

    void it('cache: every read and write, multi and tiered', async () => {
      await rejectsDenied('set', () => limited.cache.set('secret:a', 1));
      assert.equal(await spy.cache.has('secret:a'), false);
      await spy.cache.set('secret:b', 'kept');
      await rejectsDenied('get', () => limited.cache.get('secret:b'));
      await rejectsDenied('has', () => limited.cache.has('secret:b'));
      await rejectsDenied('getEntry', () => limited.cache.getEntry('secret:b'));
      await rejectsDenied('delete', () => limited.cache.delete('secret:b'));
      await rejectsDenied('expire', () => limited.cache.expire('secret:b', 1));
      await rejectsDenied('setIfVersion', () => limited.cache.setIfVersion('secret:b', 2, null));
      let ran = false;
      await rejectsDenied('update', () =>
        limited.cache.update('secret:b', () => {
          ran = true;
          return 'changed';
        }),
      );
      await rejectsDenied('multi', () => limited.cache.multi().set('secret:c', 1).exec());
      let loads = 0;
      const tiered = limited.cache.tiered<string>({ load: () => String(++loads) });
      await rejectsDenied('tiered.get', () => tiered.get('secret:d'));
      await rejectsDenied('tiered.set', () => tiered.set('secret:d', 'x'));
      await rejectsDenied('tiered.delete', () => tiered.delete('secret:b'));
      assert.equal(loads, 0);
      assert.equal(ran, false);
      assert.equal(await spy.cache.get('secret:b'), 'kept');
      assert.equal(await spy.cache.has('secret:c'), false);
      assert.equal(await spy.cache.has('secret:d'), false);
    });

    void it('lock: acquire and tryAcquire', async () => {
      await rejectsDenied('acquire', () => limited.lock.acquire('secret:res', { waitTimeout: 50 }));
      await rejectsDenied('tryAcquire', () => limited.lock.tryAcquire('secret:res'));
      const lock = await spy.lock.tryAcquire('secret:res');
      assert.ok(lock, 'the resource was never locked');
      await lock.release();
    });

    void it('data sync: publish, watch, sync', async () => {
      await rejectsDenied('publish', () =>
        limited.dataSync.publish('secrets', { type: 'create', id: '1', data: {} }),
      );
      const range = { from: 0, to: Date.now() + 60_000 };
      assert.equal(await spy.dataSync.sync('secrets', range), 0);
      assert.throws(() => limited.dataSync.watch('secrets', () => {}), denied('watch'));
      await rejectsDenied('sync', () => limited.dataSync.sync('secrets', range));
    });

    void it('transactions: registerResource and enlisting a named resource', async () => {
      const resource = { prepare: () => true, commit: () => {}, rollback: () => {} };
      assert.throws(
        () => limited.transactionManager.registerResource('ledger', resource),
        denied('registerResource'),
      );
      assert.equal(env.host.health().plugins['limited']?.holdings?.registrations ?? 0, 0);
      const tx = await limited.transactionManager.begin();
      assert.throws(() => tx.enlist('ledger' as never), denied('enlist'));
      await tx.rollback();
    });

    void it('circuit breakers: create, get, list, policy', () => {
      spy.circuitBreakerFactory.create('secret-breaker');
      assert.throws(() => limited.circuitBreakerFactory.create('secret-breaker'), denied('create'));
      assert.throws(() => limited.circuitBreakerFactory.get('secret-breaker'), denied('get'));
      assert.deepEqual(
        limited.circuitBreakerFactory.list().map((b) => b.name),
        [],
      );
      assert.throws(
        () => limited.circuitBreakerFactory.policy({ breaker: 'secret-breaker' }),
        denied('policy'),
      );
      assert.deepEqual(
        spy.circuitBreakerFactory.list().map((b) => b.name),
        ['secret-breaker'],
      );
    });
  });
}
