import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import { MessageStatus, type PluginErrorEvent } from '../../src/index.js';
import { silentLogger } from '../support/runtime.js';

describe('message queue in a host', () => {
  it('host.stop() waits for a message in flight, and is bounded by stopTimeout when a handler is stuck', async () => {
    let context!: PluginContext;
    const host = await createHost({
      logger: silentLogger,
      stopTimeout: 1500,
      plugins: [
        definePlugin({ name: 'mailer', version: '1.0.0', activate: (c) => void (context = c) }),
      ],
    });
    await host.start();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let finished = false;
    context.messageQueue.receive('slow', async () => {
      started();
      await new Promise((resolve) => setTimeout(resolve, 200));
      finished = true;
      return MessageStatus.SUCCESS;
    });
    context.messageQueue.receive('stuck', () => new Promise<never>(() => {}));
    await context.messageQueue.send('slow', 1);
    await context.messageQueue.send('stuck', 1);
    await running;
    const t0 = Date.now();
    await host.stop();
    const took = Date.now() - t0;
    assert.equal(finished, true, 'the in-flight message finished before the plugin stopped');
    assert.ok(took < 4000, `host.stop took ${took} ms`);
  });

  it('reports a throwing handler as plugin.error with the queue', async () => {
    let context!: PluginContext;
    const host = await createHost({
      logger: silentLogger,
      plugins: [definePlugin({ name: 'p', version: '1.0.0', activate: (c) => void (context = c) })],
    });
    await host.start();
    try {
      const reported = context.eventBus.waitFor('plugin.error', { timeout: 5000 });
      context.messageQueue.receive('boom', () => {
        throw new Error('kaput');
      });
      await context.messageQueue.send('boom', {});
      const data = (await reported).data as PluginErrorEvent;
      assert.equal(data.pluginId, 'p');
      assert.equal(data.event, 'queue.boom');
      assert.equal(data.error, 'kaput');
    } finally {
      await host.stop();
    }
  });
});
