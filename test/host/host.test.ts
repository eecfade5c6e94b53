import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, Runtime, RuntimeStats } from '../../src/context/types.js';
import { createHost } from '../../src/host/host.js';
import { definePlugin } from '../../src/host/define-plugin.js';
import { PluginHost } from '../../src/host/plugin-host.js';
import { deferred, silentLogger, tempDir, writePluginFolder } from './helpers.js';

void describe('host on the real runtime', () => {
  void it('runs the SPEC example: plugins talk over RPC and events, stop releases everything', async () => {
    const auth = definePlugin({
      name: 'auth-plugin',
      version: '1.0.0',
      activate(context) {
        context.rpcServer.register('auth', { check: (token: unknown) => token === 'ok' });
      },
    });
    const seen = deferred<unknown>();
    const calculator = definePlugin({
      name: 'calculator-plugin',
      version: '1.0.0',
      dependencies: { 'auth-plugin': '^1.0.0' },
      // Enforced: exactly what activate uses.
      permissions: [
        'rpc:register:calc-service',
        'rpc:call:auth.check',
        'events:subscribe:plugin.activated',
      ],
      async activate(context) {
        context.rpcServer.register('calc-service', {
          add: (a: unknown, b: unknown) => (a as number) + (b as number),
        });
        assert.equal(await context.rpcClient.call('auth', 'check', ['ok']), true);
        context.eventBus.subscribe('plugin.activated', (data) => {
          if ((data as { pluginId: string }).pluginId === 'client-plugin') seen.resolve(data);
        });
      },
    });
    let result: unknown;
    const client = definePlugin({
      name: 'client-plugin',
      version: '1.0.0',
      dependencies: { 'calculator-plugin': '^1.0.0' },
      async activate(context) {
        result = await context.rpcClient.call('calc-service', 'add', [2, 3]);
      },
    });
    const host = await createHost({ plugins: [client, calculator, auth], logger: silentLogger });
    await host.start();
    assert.equal(result, 5);
    assert.equal(host.health().ok, true);
    assert.equal(((await seen.promise) as { pluginId: string }).pluginId, 'client-plugin');
    await host.stop();
    assert.equal(host.health().status, 'stopped');
  });

  void it('leaves nothing behind: holdings zero, runtime empty, backend clean', async () => {
    const network = new MemoryNetwork();
    let stats: RuntimeStats | undefined;
    let context: PluginContext | undefined;
    const host = new PluginHost(
      {
        backend: { memory: network },
        nodeId: 'leak-node',
        deactivateTimeout: 1_000,
        logger: silentLogger,
        plugins: [
          definePlugin({
            name: 'busy-plugin',
            version: '1.0.0',
            activate(ctx) {
              context = ctx;
              ctx.eventBus.subscribe('order.*', () => {});
              ctx.eventBus.subscribe('order.created', () => {}, { group: 'workers' });
              assert.equal(typeof ctx.pluginChain.execute, 'function');
              ctx.rpcServer.register('inventory', { count: () => 1 });
              ctx.serviceRegistry.register('payment-service', {
                name: 'Stripe Payment',
                version: '1.0.0',
                endpoint: 'stripe-payment',
                metadata: { supportedCurrencies: ['USD'] },
              });
              ctx.timers.setInterval(() => {}, 60_000);
              ctx.timers.setTimeout(() => {}, 60_000);
              ctx.background.run(
                'warmup',
                (signal) =>
                  new Promise((resolve) =>
                    signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve),
                  ),
              );
            },
          }),
        ],
      },
      (options) => {
        const runtime: Runtime = createRuntime(options);
        const close = runtime.close.bind(runtime);
        // Snapshot what the cores hold once every plugin is released, just before closing.
        return Object.assign(runtime, {
          close: () => {
            stats = runtime.stats();
            return close();
          },
        });
      },
    );
    await host.start();
    const before = host.health().plugins['busy-plugin']!.holdings!;
    assert.ok(before.subscriptions >= 2, JSON.stringify(before));
    assert.ok(before.registrations >= 1, JSON.stringify(before));
    assert.ok(before.registryEntries >= 1, JSON.stringify(before));
    assert.equal(before.timers, 2);
    assert.equal(before.background, 1);
    assert.ok(network.nodes.has('leak-node'));

    await host.stop();
    const after = host.health().plugins['busy-plugin']!;
    assert.equal(after.state, 'stopped');
    assert.deepEqual(after.holdings, {
      subscriptions: 0,
      registrations: 0,
      registryEntries: 0,
      timers: 0,
      background: 0,
      inFlight: 0,
      locks: 0,
      feedWatches: 0,
      cacheTiers: 0,
    });
    assert.deepEqual(stats, { subscriptions: 0, localProviders: 0, inFlightCalls: 0 });
    assert.equal(network.nodes.has('leak-node'), false);
    const records = (network as any).records as Map<string, Map<string, unknown>>;
    for (const [kind, byId] of records)
      assert.equal(byId.size, 0, `registry kind ${kind} still has entries`);
    assert.equal(((network as any).watchers as Map<string, unknown>).size, 0);
    assert.equal(context!.signal.aborted, true);
    assert.throws(
      () => context!.eventBus.subscribe('late', () => {}),
      (e: any) => e.code === 'PB_CONTEXT_CLOSED',
    );
  });

  void it('starts plugins from a directory of folders', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writePluginFolder(
        join(dir, 'auth'),
        { name: 'auth-plugin', version: '1.0.0' },
        {
          'index.js':
            "export default { activate(context) { context.rpcServer.register('auth', { ok: () => true }); } };\n",
        },
      );
      await writePluginFolder(
        join(dir, 'mine'),
        { name: 'my-plugin', version: '1.0.0', dependencies: { 'auth-plugin': '^1.0.0' } },
        {
          'index.js':
            "export const plugin = { async activate(context) { globalThis.__pbAuthOk = await context.rpcClient.call('auth', 'ok'); } };\n",
        },
      );
      const host = await createHost({ pluginDirectory: dir, logger: silentLogger });
      await host.start();
      assert.deepEqual(host.health().levels, [['auth-plugin'], ['my-plugin']]);
      assert.equal((globalThis as any).__pbAuthOk, true);
      assert.equal(host.plugins.find((p) => p.name === 'my-plugin')?.source.kind, 'folder');
      await host.stop();

      // Folder paths work in `plugins` too, mixed with plugin objects.
      const mixed = await createHost({
        plugins: [
          join(dir, 'auth'),
          definePlugin({
            name: 'object-plugin',
            version: '1.0.0',
            dependencies: { 'auth-plugin': '1.x' },
            activate() {},
          }),
        ],
        logger: silentLogger,
      });
      assert.deepEqual((await mixed.start()).active, ['auth-plugin', 'object-plugin']);
      await mixed.stop();
    } finally {
      delete (globalThis as any).__pbAuthOk;
      await cleanup();
    }
  });
});
