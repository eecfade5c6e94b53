import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { ChainNextCalledTwiceError, TimeoutError } from '../../src/errors/errors.js';
import { createHost } from '../../src/host/host.js';
import { definePlugin } from '../../src/host/define-plugin.js';
import type { Host } from '../../src/host/types.js';
import { silentLogger } from './helpers.js';

/** A host with one plugin per setup function; returns the contexts by plugin name. */
async function hostWith(
  setups: Record<string, (context: PluginContext) => void>,
  handlerTimeout = 30_000,
  deactivateTimeout?: number,
): Promise<{ host: Host; contexts: Map<string, PluginContext> }> {
  const contexts = new Map<string, PluginContext>();
  const host = await createHost({
    logger: silentLogger,
    limits: { handlerTimeout },
    ...(deactivateTimeout === undefined ? {} : { deactivateTimeout }),
    plugins: Object.entries(setups).map(([name, setup]) =>
      definePlugin({
        name,
        version: '1.0.0',
        activate(context) {
          contexts.set(name, context);
          setup(context);
        },
      }),
    ),
  });
  await host.start();
  return { host, contexts };
}

/** Collect process-level unhandled rejections while `fn` runs (and a turn after). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, 30));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

void describe('plugin chain: one async discipline', () => {
  void it('rejects execute with TimeoutError naming the plugin when a handler never settles', async () => {
    const { host, contexts } = await hostWith(
      {
        first: (c) =>
          c.eventBus.subscribe('order.check', async (_d, next) => next(), { priority: 10 }),
        stuck: (c) => c.eventBus.subscribe('order.check', () => new Promise(() => undefined)),
      },
      60,
      // The stuck handler never settles: the stop waits for it this long, not the default 5 s.
      200,
    );
    try {
      await assert.rejects(
        contexts.get('first')!.pluginChain.execute('order.check', {}),
        (error) => {
          assert.ok(error instanceof TimeoutError, String(error));
          assert.equal(error.details['pluginId'], 'stuck');
          assert.equal(error.details['event'], 'order.check');
          assert.equal((error as unknown as { pluginId: string }).pluginId, 'stuck');
          assert.match(error.message, /"stuck"/);
          return true;
        },
      );
    } finally {
      await host.stop();
    }
  });

  void it('bounds only the handler itself: time spent in later handlers does not count', async () => {
    const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 200));
    const { host, contexts } = await hostWith(
      {
        outer: (c) =>
          c.eventBus.subscribe('slow.chain', async (_d, next) => next(), { priority: 10 }),
        a: (c) =>
          c.eventBus.subscribe(
            'slow.chain',
            async (_d, next) => {
              await pause();
              await next();
            },
            { priority: 5 },
          ),
        b: (c) =>
          c.eventBus.subscribe(
            'slow.chain',
            async (_d, next) => {
              await pause();
              await next();
            },
            { priority: 3 },
          ),
        c: (c) => c.eventBus.subscribe('slow.chain', pause),
      },
      450,
    );
    try {
      // Each handler's own work takes 200 ms (well under 450), the whole chain 600 ms (over it).
      assert.deepEqual(await contexts.get('outer')!.pluginChain.execute('slow.chain', { v: 1 }), {
        v: 1,
      });
    } finally {
      await host.stop();
    }
  });

  void it('rejects with ChainNextCalledTwiceError when next() is called twice without awaiting, and leaves no unhandled rejection', async () => {
    const { host, contexts } = await hostWith({
      twice: (c) =>
        c.eventBus.subscribe(
          'pay.check',
          (_d, next) => {
            void next();
            void next();
          },
          { priority: 10 },
        ),
      last: (c) => c.eventBus.subscribe('pay.check', async () => undefined),
    });
    try {
      const unhandled = await unhandledDuring(async () => {
        await assert.rejects(
          contexts.get('twice')!.pluginChain.execute('pay.check', {}),
          (error) => {
            assert.ok(error instanceof ChainNextCalledTwiceError, String(error));
            assert.equal(error.details['pluginId'], 'twice');
            assert.equal((error as unknown as { pluginId: string }).pluginId, 'twice');
            return true;
          },
        );
      });
      assert.deepEqual(unhandled, []);
    } finally {
      await host.stop();
    }
  });

  void it('a later handler failing while an earlier one has not awaited next() rejects execute, not the process', async () => {
    const { host, contexts } = await hostWith({
      early: (c) =>
        c.eventBus.subscribe(
          'x.fail',
          async (_d, next) => {
            void next();
            await new Promise((resolve) => setTimeout(resolve, 20));
          },
          { priority: 10 },
        ),
      failing: (c) =>
        c.eventBus.subscribe('x.fail', () => {
          throw new Error('boom');
        }),
    });
    try {
      const unhandled = await unhandledDuring(async () => {
        await assert.rejects(contexts.get('early')!.pluginChain.execute('x.fail', {}), (error) => {
          assert.match(String(error), /boom/);
          assert.equal((error as { pluginId?: string }).pluginId, 'failing');
          return true;
        });
      });
      assert.deepEqual(unhandled, []);
    } finally {
      await host.stop();
    }
  });
});
