/**
 * Parity mode on the embedded backend: the shared cases (parity-cases.ts, also run over Redis
 * by parity.redis.test.ts) on one memory host with the default options, then the switch itself:
 * its default, `parity: false` (payloads by reference, documented in the host option), and
 * `NODE_ENV=production`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parityDefault } from '../../src/context/parity.js';
import type { PluginContext } from '../../src/context/types.js';
import { ValidationError } from '../../src/errors/errors.js';
import { createMemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host, HostOptions } from '../../src/host/index.js';
import { silentLogger } from '../support/runtime.js';
import { parityCases, type ParitySetup } from './parity-cases.js';

const NAMES = ['publisher', 'subscriber-1', 'subscriber-2', 'provider'] as const;

async function startHost(
  options: Partial<HostOptions> = {},
): Promise<{ host: Host; ctx: Record<(typeof NAMES)[number], PluginContext> }> {
  const ctx = {} as Record<(typeof NAMES)[number], PluginContext>;
  const host = await createHost({
    logger: silentLogger,
    ...options,
    plugins: NAMES.map((name) =>
      definePlugin({ name, version: '1.0.0', activate: (context) => void (ctx[name] = context) }),
    ),
  });
  await host.start();
  return { host, ctx };
}

describe('parity mode on the embedded backend (default options)', () => {
  let host: Host;
  let setup: ParitySetup;
  before(async () => {
    assert.equal(process.env['NODE_ENV'], undefined, 'tests run without NODE_ENV');
    const started = await startHost();
    host = started.host;
    const { ctx } = started;
    setup = {
      publisher: ctx.publisher,
      subscribers: [ctx['subscriber-1'], ctx['subscriber-2']],
      provider: ctx.provider,
      registered: async (service) => void (await ctx.publisher.rpcClient.waitForService(service)),
      subscribed: async () => undefined,
    };
  });
  after(() => host.stop());

  parityCases(() => setup);

  it('plugin.error for a failing handler still arrives (host payloads are plain data)', async () => {
    const error = setup.subscribers[1].eventBus.waitFor('plugin.error', { timeout: 5000 });
    const sub = setup.subscribers[0].eventBus.subscribe('parity.fails', () => {
      throw new Error('boom');
    });
    await setup.publisher.eventBus.publish('parity.fails', {});
    const { data } = await error;
    assert.equal((data as { pluginId: string }).pluginId, 'subscriber-1');
    sub.unsubscribe();
  });
});

describe('parity mode for events from another node', () => {
  it('each subscriber on the receiving node decodes its own copy', async () => {
    const network = createMemoryNetwork();
    const a = await startHost({ backend: { memory: network } });
    const b = await startHost({ backend: { memory: network } });
    try {
      const other = b.ctx['subscriber-2'].eventBus.waitFor('net.order', { timeout: 5000 });
      const mutator = b.ctx['subscriber-1'].eventBus.subscribe(
        'net.order',
        (data) => void (data as { items: string[] }).items.push('added'),
        { priority: 10 },
      );
      await a.ctx.publisher.eventBus.publish('net.order', { items: ['book'] });
      assert.deepEqual(((await other).data as { items: string[] }).items, ['book']);
      mutator.unsubscribe();
    } finally {
      await Promise.all([a.host.stop(), b.host.stop()]);
    }
  });
});

describe('parity switch', () => {
  it('is on by default unless NODE_ENV is production', () => {
    const saved = process.env['NODE_ENV'];
    try {
      delete process.env['NODE_ENV'];
      assert.equal(parityDefault(), true);
      process.env['NODE_ENV'] = 'development';
      assert.equal(parityDefault(), true);
      process.env['NODE_ENV'] = 'test';
      assert.equal(parityDefault(), true);
      process.env['NODE_ENV'] = 'production';
      assert.equal(parityDefault(), false);
    } finally {
      if (saved === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = saved;
    }
  });

  it('refuses a non-boolean parity option', async () => {
    await assert.rejects(
      createHost({ logger: silentLogger, parity: 'yes' as unknown as boolean }),
      ValidationError,
    );
  });

  it('NODE_ENV=production turns it off (a function payload is passed as is)', async () => {
    const saved = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'production';
    let started: Awaited<ReturnType<typeof startHost>>;
    try {
      started = await startHost();
    } finally {
      if (saved === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = saved;
    }
    const { host, ctx } = started;
    try {
      const got = ctx['subscriber-1'].eventBus.waitFor('x.fn');
      const fn = (): number => 1;
      await ctx.publisher.eventBus.publish('x.fn', { fn });
      assert.equal(((await got).data as { fn: unknown }).fn, fn);
    } finally {
      await host.stop();
    }
  });

  it('parity: true holds even when NODE_ENV is production', async () => {
    const saved = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'production';
    let started: Awaited<ReturnType<typeof startHost>>;
    try {
      started = await startHost({ parity: true });
    } finally {
      if (saved === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = saved;
    }
    const { host, ctx } = started;
    try {
      await assert.rejects(ctx.publisher.eventBus.publish('x.fn', { fn: () => 1 }), {
        name: 'SerializationError',
      });
    } finally {
      await host.stop();
    }
  });

  describe('parity: false passes payloads by reference', () => {
    let host: Host;
    let ctx: Record<(typeof NAMES)[number], PluginContext>;
    before(async () => ({ host, ctx } = await startHost({ parity: false })));
    after(() => host.stop());

    it('every local subscriber gets the published object itself, mutations included', async () => {
      const first = ctx['subscriber-1'].eventBus.waitFor('ref.order');
      const second = ctx['subscriber-2'].eventBus.waitFor('ref.order');
      const mutator = ctx['subscriber-1'].eventBus.subscribe(
        'ref.order',
        (data) => void (data as { items: string[] }).items.push('added'),
        { priority: 10 },
      );
      const order = { items: ['book'], callback: () => 1 };
      await ctx.publisher.eventBus.publish('ref.order', order);
      const [a, b] = await Promise.all([first, second]);
      assert.equal(a.data, order);
      assert.equal(b.data, order);
      assert.deepEqual(order.items, ['book', 'added']);
      mutator.unsubscribe();
    });

    it('local RPC methods get the caller’s objects and return theirs, class instances intact', async () => {
      class Money {
        constructor(readonly amount: number) {}
      }
      const big = { blob: 'x'.repeat(2 * 1024 * 1024) };
      let param: unknown;
      const reg = ctx.provider.rpcServer.register('ref-rpc', {
        echo: (value: unknown) => {
          param = value;
          return new Money(2);
        },
      });
      const result = await ctx.publisher.rpcClient.call('ref-rpc', 'echo', [big]);
      assert.equal(param, big, 'no size limit, no copy');
      assert.ok(result instanceof Money);
      await reg.unregister();
    });
  });
});
