import assert from 'node:assert/strict';
import { createHost, definePlugin, type PluginContext } from '../../../src/index.js';
import type { RedisBackendOption } from '../../../src/backends/resolve.js';
import { waitFor } from './support.js';

/**
 * Every building block once, between two hosts on `backend`: events, RPC and discovery, a
 * durable queue, the shared cache and its local tier (client-side tracking), a lock, a change
 * feed and a two-phase transaction (its log). Resolves when all worked; stops both hosts.
 */
export async function smokeEveryBlock(backend: RedisBackendOption): Promise<void> {
  const events: unknown[] = [];
  const jobs: unknown[] = [];
  const changes: unknown[] = [];
  let worker!: PluginContext;
  const back = await createHost({
    backend,
    nodeId: 'acl-back',
    logger: false,
    plugins: [
      definePlugin({
        name: 'acl-worker',
        version: '1.0.0',
        async activate(context) {
          worker = context;
          await context.rpcServer.register('acl-math', { double: (n: number) => n * 2 }).ready;
          await context.eventBus.subscribe('acl.ping', (data) => void events.push(data)).ready;
          context.messageQueue.receive('acl.jobs', (message) => {
            jobs.push(message.data);
          });
          await context.dataSync.watch('acl-users', (change) => void changes.push(change.id)).ready;
          await context.transactionManager.registerResource('acl-res', {
            prepare: () => ({ status: 'prepared' }),
            commit: () => undefined,
            rollback: () => undefined,
          }).ready;
        },
      }),
    ],
  });
  let front!: PluginContext;
  const host = await createHost({
    backend,
    nodeId: 'acl-front',
    logger: false,
    plugins: [
      definePlugin({ name: 'acl-front', version: '1.0.0', activate: (c) => void (front = c) }),
    ],
  });
  try {
    await back.start();
    await host.start();
    // Events, RPC, discovery.
    assert.equal(await front.rpcClient.call('acl-math', 'double', [21]), 42);
    await front.eventBus.publish('acl.ping', { n: 1 });
    await waitFor(() => events.length === 1, 3000, 'the event');
    // Durable queue.
    await front.messageQueue.send('acl.jobs', { job: 1 });
    await waitFor(() => jobs.length === 1, 3000, 'the queued job');
    // Shared cache, and a local tier kept coherent by invalidations.
    const local = worker.cache.local<number>();
    await local.ready();
    await front.cache.set('acl:k', 1, { ttl: 60 });
    assert.equal(await worker.cache.get('acl:k'), 1);
    local.set('acl:k', 1);
    await front.cache.set('acl:k', 2, { ttl: 60 });
    await waitFor(() => !local.has('acl:k'), 3000, 'the invalidation');
    const entry = await front.cache.getEntry<number>('acl:k');
    assert.equal(await front.cache.setIfVersion('acl:k', 3, entry!.version), true);
    await front.cache.delete('acl:k');
    // Lock.
    const lock = await front.lock.acquire('acl-resource', { ttl: 5000 });
    await lock.release();
    // Change feed.
    await front.dataSync.publish('acl-users', { type: 'create', id: 'u1', data: { a: 1 } });
    await waitFor(() => changes.length === 1, 3000, 'the change');
    // Two-phase transaction with a remote participant (the transaction log).
    const transaction = await front.transactionManager.begin({ timeout: 3000 });
    transaction.enlist('acl-res', { x: 1 });
    await transaction.commit();
    assert.equal(await front.transactionManager.outcome(transaction.id), 'committed');
  } finally {
    await host.stop();
    await back.stop();
  }
}
