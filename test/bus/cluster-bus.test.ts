import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { TopicHandler } from '../../src/backends/ports.js';
import { createCodec } from '../../src/codec/codec.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, Runtime } from '../../src/context/types.js';
import { captureLogger } from '../backends/redis/support.js';
import { until } from '../conformance/harness.js';
import { startRuntime, type TestRuntime } from '../support/runtime.js';

describe('event bus between nodes', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  const node = async (
    network: MemoryNetwork,
    nodeId: string,
    wrap?: (handler: TopicHandler) => TopicHandler,
  ): Promise<{
    backend: MemoryBackend;
    runtime: Runtime;
    ctx: PluginContext;
    log: ReturnType<typeof captureLogger>;
  }> => {
    const backend = new MemoryBackend({ nodeId, network });
    if (wrap !== undefined) {
      const subscribe = backend.transport.subscribe.bind(backend.transport);
      backend.transport.subscribe = (topic, handler) => subscribe(topic, wrap(handler));
    }
    const log = captureLogger();
    const runtime = createRuntime({ backend, logger: log.logger });
    await runtime.start();
    closers.push(() => runtime.close());
    const ctx = runtime.createContext({
      name: 'p',
      version: '1.0.0',
      permissions: undefined,
      options: {},
    }).context;
    return { backend, runtime, ctx, log };
  };

  it('returns the dispatch promise of a remote event to the transport (async handlers count)', async () => {
    const network = new MemoryNetwork();
    const returned: unknown[] = [];
    const receiver = await node(network, 'recv', (handler) => (payload, info) => {
      const result: unknown = handler(payload, info);
      returned.push(result);
      return result;
    });
    const sender = await node(network, 'send');
    let finish!: () => void;
    let finished = false;
    receiver.ctx.eventBus.subscribe('slow.work', () => new Promise<void>((r) => (finish = r)));
    await sender.ctx.eventBus.publish('slow.work', {});
    await until(() => returned.some((r) => r instanceof Promise), 2000, 'a dispatch promise');
    const pending = returned.find((r) => r instanceof Promise) as Promise<void>;
    void pending.then(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(finished, false, 'still running the async handler');
    finish();
    await pending;
    assert.equal(finished, true);
  });

  it('drops frames with wrong meta types before any handler, logging at most one line per burst', async () => {
    const network = new MemoryNetwork();
    const receiver = await node(network, 'recv');
    const sender = await node(network, 'send');
    const codec = createCodec({ maxPayloadBytes: 1024 * 1024 });
    const seen: unknown[] = [];
    receiver.ctx.eventBus.subscribe('x.y', (_d, _n, meta) => void seen.push(meta.id));
    receiver.ctx.eventBus.subscribe('x.y', () => undefined, { group: 'g' });
    const good = { e: 'x.y', d: codec.encode(1), s: 'p', n: 'send', i: 'id1', t: 1, tr: 't1' };
    const bad = [
      { ...good, i: 5 },
      { ...good, tr: {} },
      { ...good, t: 'yesterday' },
      { ...good, t: Number.NaN },
      { ...good, t: undefined },
      { ...good, g: 'g' },
      { ...good, g: ['g', 7] },
      'not a frame',
      null,
    ];
    for (let round = 0; round < 10; round++) {
      for (const frame of bad) {
        await sender.backend.transport.publish('pb.ev', codec.encode(frame));
        await sender.backend.transport.send('recv', 'pb.ev.g', codec.encode(frame));
      }
    }
    await sender.backend.transport.publish('pb.ev', codec.encode(good));
    await until(() => seen.length === 1, 2000, 'the good frame');
    assert.deepEqual(seen, ['id1']);
    const warnings = receiver.log.lines.filter((l) => /malformed event frames/.test(l.msg));
    assert.equal(warnings.length, 1, 'one log line for 180 bad frames');
    assert.equal(warnings[0]!['dropped'], 1);
  });
});

describe('event bus groups', () => {
  let rt: TestRuntime;
  afterEach(() => rt.close());

  it('rotates a group per group, not per event name', async () => {
    rt = await startRuntime();
    const got: Record<string, number> = { w1: 0, w2: 0 };
    for (const name of ['w1', 'w2'])
      rt.ctx(name).eventBus.subscribe('job.*', () => void got[name]!++, { group: 'workers' });
    for (let i = 0; i < 100; i++) await rt.ctx('p').eventBus.publish(`job.n${i}`, {});
    assert.deepEqual(got, { w1: 50, w2: 50 });
  });

  it('rotates per group across nodes too, with distinct event names', async () => {
    const network = new MemoryNetwork();
    const a = await startRuntime({ network, nodeId: 'rr-a' });
    const b = await startRuntime({ network, nodeId: 'rr-b' });
    rt = { ...a, close: async () => (await b.close(), await a.close()) };
    const got: Record<string, number> = { a: 0, b: 0 };
    await Promise.all([
      a.ctx('w').eventBus.subscribe('job.*', () => void got.a!++, { group: 'workers' }).ready,
      b.ctx('w').eventBus.subscribe('job.*', () => void got.b!++, { group: 'workers' }).ready,
    ]);
    for (let i = 0; i < 100; i++) await a.ctx('p').eventBus.publish(`job.n${i}`, {});
    await until(() => got.a! + got.b! === 100, 2000, 'all 100');
    assert.deepEqual(got, { a: 50, b: 50 });
  });
});
