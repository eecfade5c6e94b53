import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryNetwork } from '../../src/index.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import { silentLogger } from '../support/runtime.js';

describe('host.idle()', () => {
  it('resolves true once background work started in activate has finished', async () => {
    let finished = false;
    const host = await createHost({
      logger: silentLogger,
      plugins: [
        definePlugin({
          name: 'worker',
          version: '1.0.0',
          activate(context) {
            context.background.run('warm-up', async () => {
              await new Promise((resolve) => setTimeout(resolve, 50));
              finished = true;
            });
          },
        }),
      ],
    });
    await host.start();
    assert.equal(await host.idle(5000), true);
    assert.equal(finished, true);
    await host.stop();
  });

  it('resolves false at its bound when work never ends', async () => {
    const host = await createHost({
      logger: silentLogger,
      deactivateTimeout: 100,
      plugins: [
        definePlugin({
          name: 'stuck',
          version: '1.0.0',
          activate(context) {
            context.background.run('forever', () => new Promise(() => undefined));
          },
        }),
      ],
    });
    await host.start();
    const started = Date.now();
    assert.equal(await host.idle(100), false);
    assert.ok(Date.now() - started < 2000);
    await host.stop();
  });
});

describe('host.stop() while a slow activate is still running', () => {
  it('undoes the late activation: no timer of the plugin outlives the host', async () => {
    let ticks = 0;
    let activated!: () => void;
    const done = new Promise<void>((resolve) => (activated = resolve));
    const host = await createHost({
      logger: silentLogger,
      stopTimeout: 50,
      activateTimeout: 5000,
      plugins: [
        definePlugin({
          name: 'slow',
          version: '1.0.0',
          async activate(context) {
            await new Promise((resolve) => setTimeout(resolve, 300));
            context.timers.setInterval(() => void ticks++, 5);
            activated();
          },
        }),
      ],
    });
    const starting = host.start().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await host.stop(); // gives up waiting after 50 ms
    await done;
    await starting;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = ticks;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(ticks, after, 'the interval was cleared');
    assert.notEqual(host.health().plugins.slow?.state, 'active');
  });
});

describe('hosts sharing a memory network (public API)', () => {
  it('form one cluster: events and RPC cross between them', async () => {
    const network = createMemoryNetwork();
    const seen: string[] = [];
    const provider = await createHost({
      logger: silentLogger,
      backend: { memory: network },
      plugins: [
        definePlugin({
          name: 'calc',
          version: '1.0.0',
          activate(context) {
            context.rpcServer.register('calculator', { add: (a: number, b: number) => a + b });
            context.eventBus.subscribe('user.created', (data: any) => void seen.push(data.name));
          },
        }),
      ],
    });
    let client!: PluginContext;
    const caller = await createHost({
      logger: silentLogger,
      backend: { memory: network },
      plugins: [
        definePlugin({
          name: 'app',
          version: '1.0.0',
          activate: (context) => void (client = context),
        }),
      ],
    });
    await provider.start();
    await caller.start();
    assert.equal(await client.rpcClient.call('calculator', 'add', [2, 3]), 5);
    await client.eventBus.publish('user.created', { name: 'John' });
    const until = Date.now() + 2000;
    while (seen.length === 0 && Date.now() < until)
      await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['John']);
    assert.notEqual(provider.nodeId, caller.nodeId);
    await caller.stop();
    await provider.stop();
  });
});
