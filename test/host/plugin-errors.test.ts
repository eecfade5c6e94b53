import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PluginErrorEvent } from '../../src/bus/types.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost } from '../../src/host/host.js';
import { definePlugin } from '../../src/host/define-plugin.js';
import type { HostOptions } from '../../src/host/types.js';
import { attributionActive } from '../../src/util/plugin-attribution.js';
import { silentLogger } from './helpers.js';

const run = promisify(execFile);

/**
 * A host with an observer collecting `plugin.error` events, plus the given plugins. `waitFor`
 * resolves with the first error event matching a predicate.
 */
async function observedHost(
  plugins: Record<string, (context: PluginContext) => void>,
  options: HostOptions = {},
) {
  const errors: PluginErrorEvent[] = [];
  const waiters: Array<() => void> = [];
  const contexts = new Map<string, PluginContext>();
  const host = await createHost({
    logger: silentLogger,
    ...options,
    plugins: [
      definePlugin({
        name: 'observer',
        version: '1.0.0',
        activate(context) {
          context.eventBus.subscribe('plugin.error', (data) => {
            errors.push(data as PluginErrorEvent);
            for (const wake of waiters.splice(0)) wake();
          });
        },
      }),
      ...Object.entries(plugins).map(([name, activate]) =>
        definePlugin({
          name,
          version: '1.0.0',
          dependencies: { observer: '*' },
          activate(context) {
            contexts.set(name, context);
            activate(context);
          },
        }),
      ),
    ],
  });
  const waitFor = async (
    predicate: (e: PluginErrorEvent) => boolean,
    what: string,
  ): Promise<PluginErrorEvent> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = errors.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`no plugin.error for ${what}: ${JSON.stringify(errors)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  return { host, errors, contexts, waitFor };
}

void describe('plugin failures are reported as plugin.error naming the plugin', () => {
  void it('reports a timer callback that throws or returns a rejected promise', async () => {
    const { host, waitFor } = await observedHost({
      ticker: (c) => {
        c.timers.setTimeout(async () => {
          await Promise.resolve();
          throw new Error('async timer failure');
        }, 1);
        c.timers.setTimeout(() => {
          throw new Error('sync timer failure');
        }, 1);
      },
    });
    await host.start();
    try {
      const asyncOne = await waitFor((e) => e.error === 'async timer failure', 'async timer');
      assert.equal(asyncOne.pluginId, 'ticker');
      assert.equal(asyncOne.event, 'timer');
      const syncOne = await waitFor((e) => e.error === 'sync timer failure', 'sync timer');
      assert.equal(syncOne.pluginId, 'ticker');
    } finally {
      await host.stop();
    }
  });

  void it('reports failed background tasks and async event handlers', async () => {
    const { host, contexts, waitFor } = await observedHost({
      worker: (c) => {
        c.background.run('warm', async () => {
          throw new Error('background failure');
        });
        c.eventBus.subscribe('job.run', async () => {
          await Promise.resolve();
          throw new Error('handler failure');
        });
      },
    });
    await host.start();
    try {
      const bg = await waitFor((e) => e.error === 'background failure', 'background');
      assert.equal(bg.pluginId, 'worker');
      assert.equal(bg.event, 'background.warm');
      await contexts.get('worker')!.eventBus.publish('job.run', {});
      const handler = await waitFor((e) => e.error === 'handler failure', 'handler');
      assert.equal(handler.pluginId, 'worker');
      assert.equal(handler.event, 'job.run');
    } finally {
      await host.stop();
    }
  });

  void it('attributes a stray unhandled rejection to the plugin whose code created it, and keeps running', async () => {
    // In a child process: the test runner itself fails any test that sees an unhandled rejection.
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      fileURLToPath(new URL('./fixtures/stray-rejections.ts', import.meta.url)),
    ]);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      errors: [string, string, string][];
      before: number;
      during: number;
      after: number;
      status: string;
    };
    const strays = result.errors.filter(([, event]) => event === 'unhandledRejection');
    assert.deepEqual(strays.sort(), [
      ['careless', 'unhandledRejection', 'stray from activate'],
      ['careless', 'unhandledRejection', 'stray from handler'],
      ['careless', 'unhandledRejection', 'stray from rpc'],
    ]);
    assert.equal(result.status, 'running');
    assert.equal(result.during, result.before + 1);
    assert.equal(result.after, result.before);
  });

  void it("leaves Node alone with unhandledRejections: 'node'", async () => {
    const before = process.listenerCount('unhandledRejection');
    const { host } = await observedHost(
      { quiet: () => undefined },
      { unhandledRejections: 'node' },
    );
    await host.start();
    assert.equal(process.listenerCount('unhandledRejection'), before);
    await host.stop();
  });

  void it('attributes strays by stack trace under the default policy, without promise hooks', async () => {
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      fileURLToPath(new URL('./fixtures/stray-by-stack.ts', import.meta.url)),
    ]);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      errors: [string, string][];
      logs: [string | null, string, string][];
      tracking: boolean;
      status: string;
      otherLogs: string[];
    };
    assert.equal(result.tracking, false);
    assert.deepEqual(result.errors.sort(), [
      ['careless', 'stray from activate'],
      ['careless', 'stray from handler'],
      ['careless', 'stray from rpc'],
      ['folder-careless', 'stray from folder'],
    ]);
    const unattributed = result.logs.filter(([plugin]) => plugin === null).map(([, err]) => err);
    assert.deepEqual(unattributed.sort(), ['not an error', 'stray from nowhere']);
    assert.equal(result.logs.length, 6);
    // The process's other host logs only what no host's plugin is named for.
    assert.deepEqual(result.otherLogs.sort(), ['not an error', 'stray from nowhere']);
    assert.equal(result.status, 'running');
  });

  void it('keeps the listener but turns on no tracking under the default policy', async () => {
    const before = process.listenerCount('unhandledRejection');
    const { host } = await observedHost({ quiet: () => undefined });
    await host.start();
    assert.equal(process.listenerCount('unhandledRejection'), before + 1);
    assert.equal(attributionActive(), false);
    await host.stop();
    assert.equal(process.listenerCount('unhandledRejection'), before);
    const traced = await observedHost({ quiet: () => undefined }, { unhandledRejections: 'trace' });
    await traced.host.start();
    assert.equal(attributionActive(), true);
    await traced.host.stop();
    assert.equal(attributionActive(), false);
    for (const bad of ['ignore', 'log'])
      await assert.rejects(
        createHost({ logger: false, unhandledRejections: bad as never }),
        (e: any) => e.code === 'PB_VALIDATION' && e.details.field === 'unhandledRejections',
      );
  });
});
