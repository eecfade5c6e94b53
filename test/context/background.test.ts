/**
 * `context.background.run`: work a plugin starts after answering. Its failures are reported,
 * and `host.stop()` waits for it within the plugin's stop bound, naming what did not finish.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginErrorEvent } from '../../src/bus/types.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin, type LifecycleEvent } from '../../src/host/index.js';
import { silentLogger, startRuntime } from '../support/runtime.js';

/** A host running one plugin `worker` that hands over its context, and the events it saw. */
async function workerHost(deactivateTimeout = 5000) {
  let context!: PluginContext;
  const errors: PluginErrorEvent[] = [];
  const lifecycle: LifecycleEvent[] = [];
  const host = await createHost({
    logger: silentLogger,
    deactivateTimeout,
    plugins: [
      definePlugin({
        name: 'observer',
        version: '1.0.0',
        activate: (c) =>
          void c.eventBus.subscribe('plugin.error', (e) => void errors.push(e as PluginErrorEvent)),
      }),
      definePlugin({
        name: 'worker',
        version: '1.0.0',
        dependencies: { observer: '*' },
        activate: (c) => void (context = c),
      }),
    ],
  });
  host.onLifecycle((event) => lifecycle.push(event));
  await host.start();
  return { host, context: () => context, errors, lifecycle };
}

describe('background work', () => {
  it('reports a task that throws at once or rejects later as plugin.error (background.<name>)', async () => {
    const { host, context, errors } = await workerHost();
    try {
      context().background.run('sync-throw', () => {
        throw new Error('thrown at once');
      });
      context().background.run('late-reject', async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw Object.assign(new Error('rejected later'), { code: 'E_LATE' });
      });
      assert.equal(await host.idle(5000), true);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(errors.map((e) => [e.pluginId, e.event, e.error, e.code]).sort(), [
        ['worker', 'background.late-reject', 'rejected later', 'E_LATE'],
        ['worker', 'background.sync-throw', 'thrown at once', undefined],
      ]);
    } finally {
      await host.stop();
    }
  });

  it('host.stop() aborts the signal and waits for a task that finishes within the bound', async () => {
    const { host, context, lifecycle } = await workerHost();
    const steps: string[] = [];
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    context().background.run('export', async (signal) => {
      running();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      steps.push('aborted');
      await new Promise((resolve) => setTimeout(resolve, 50)); // saving its progress
      steps.push('saved');
    });
    await started;
    assert.equal(context().background.pending, 1);
    await host.stop();
    assert.deepEqual(steps, ['aborted', 'saved']);
    const stopped = lifecycle.find((e) => e.type === 'stopped' && e.plugin === 'worker');
    assert.deepEqual(stopped && 'unfinished' in stopped ? stopped.unfinished : undefined, []);
  });

  it('host.stop() gives up on a task at the bound and names it as unfinished', async () => {
    const { host, context, lifecycle } = await workerHost(200);
    context().background.run('stuck-upload', () => new Promise(() => undefined));
    await new Promise((resolve) => setImmediate(resolve));
    const begun = Date.now();
    await host.stop();
    assert.ok(Date.now() - begun < 3000, 'stop is bounded');
    const unfinished = ['background task "stuck-upload"'];
    assert.deepEqual(host.health().plugins['worker']!.unfinished, unfinished);
    const stopped = lifecycle.find((e) => e.type === 'stopped' && e.plugin === 'worker');
    assert.deepEqual(
      stopped && 'unfinished' in stopped ? stopped.unfinished : undefined,
      unfinished,
    );
  });

  it('refuses a task that is not a function, and any task once the plugin stopped', async () => {
    const rt = await startRuntime();
    try {
      const scoped = rt.scoped('worker');
      const { background } = scoped.context;
      assert.throws(() => background.run('x', 'nope' as never), {
        code: 'PB_VALIDATION',
        message: /must be a function/,
      });
      let ran = false;
      // Asked for just before the stop: its turn comes after the plugin stopped: it never runs.
      background.run('too-late', async () => void (ran = true));
      const { unfinished } = await scoped.release(1000);
      assert.deepEqual(unfinished, []);
      assert.equal(ran, false);
      assert.throws(() => background.run('after', async () => {}), { code: 'PB_CONTEXT_CLOSED' });
    } finally {
      await rt.close();
    }
  });
});
