import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHost } from '../../src/host/host.js';
import { definePlugin } from '../../src/host/define-plugin.js';
import { durableQueueName, parseDurableQueueName } from '../../src/queue/queue-names.js';
import { silentLogger } from '../support/runtime.js';

describe('durable queue names', () => {
  it('never give two (group, pattern) pairs the same queue, and parse back', () => {
    assert.notEqual(durableQueueName('a.b', 'c'), durableQueueName('a', 'b.c'));
    assert.notEqual(durableQueueName('a', 'b:c'), durableQueueName('a:b', 'c'));
    for (const [group, pattern] of [
      ['a.b', 'c'],
      ['a', 'b.c'],
      ['grüße', 'x.**'],
      ['g', '*'],
    ] as const) {
      assert.deepEqual(parseDurableQueueName(durableQueueName(group, pattern)), { group, pattern });
    }
    for (const other of ['ev.a.b', 'ev:', 'ev:x:a:b', 'ev:3:ab', 'jobs', 'ev:1:ab'])
      assert.equal(parseDurableQueueName(other), undefined, other);
  });
});

describe('host.durable', () => {
  it('rejects before start and after stop, and manages durable groups while running', async () => {
    const worker = definePlugin({
      name: 'worker',
      version: '1.0.0',
      activate: async (context) => {
        await context.eventBus.subscribe('mail.*', () => undefined, {
          durable: true,
          group: 'mailer',
        }).ready;
      },
    });
    const host = await createHost({ plugins: [worker], logger: silentLogger });
    let thrown: unknown;
    const early = (() => {
      try {
        return host.durable.list();
      } catch (error) {
        thrown = error;
        return undefined;
      }
    })();
    assert.equal(thrown, undefined, 'never throws synchronously');
    await assert.rejects(early!, { name: 'HostStateError' });
    await host.start();
    try {
      assert.deepEqual(await host.durable.list(), [
        {
          group: 'mailer',
          pattern: 'mail.*',
          bound: true,
          counts: { ready: 0, delayed: 0, leased: 0, dead: 0 },
        },
      ]);
    } finally {
      await host.stop();
    }
    await assert.rejects(host.durable.purge('mailer'), { name: 'HostStateError' });
  });
});
