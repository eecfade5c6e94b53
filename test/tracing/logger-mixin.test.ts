/**
 * The trace id on log lines of a logger the application passes: added through the child the host
 * makes, after the application's own mixin (kept), without changing the application's logger.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createHost, definePlugin, type PluginContext } from '../../src/index.js';
import type { LogLine } from './support.js';

test("log lines carry the running work's trace id beside the application's mixin fields", async () => {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'info', mixin: () => ({ app: 'shop' }) },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  let context!: PluginContext;
  const host = await createHost({
    logger,
    plugins: [
      definePlugin({
        name: 'orders',
        version: '1.0.0',
        activate(c) {
          context = c;
          c.eventBus.subscribe('order.placed', () => c.logger.info('in handler'));
        },
      }),
    ],
  });
  await host.start();
  try {
    let traceId = '';
    context.eventBus.subscribe(
      'order.placed',
      (_data, _next, meta) => void (traceId = meta.traceId),
    );
    await context.eventBus.publish('order.placed', {});
    context.logger.info('outside any work');
    logger.info('the application logger itself');
    const inside = lines.find((l) => l.msg === 'in handler');
    assert.equal(inside?.traceId, traceId);
    assert.equal(inside?.['app'], 'shop');
    assert.equal(inside?.['plugin'], 'orders');
    const outside = lines.find((l) => l.msg === 'outside any work');
    assert.equal(outside?.traceId, undefined);
    assert.equal(outside?.['app'], 'shop');
    const own = lines.find((l) => l.msg === 'the application logger itself');
    assert.deepEqual(Object.keys(own ?? {}).includes('traceId'), false);
  } finally {
    await host.stop();
  }
});
