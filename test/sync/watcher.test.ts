/**
 * The watcher's edge cases on the embedded backend: missed notifications, a full buffer,
 * retention overtaking a watcher, sync() from inside a handler, and the host option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { FeedEntry, PortSubscription } from '../../src/backends/ports.js';
import { createRuntime } from '../../src/context/runtime.js';
import { ValidationError } from '../../src/errors/errors.js';
import { createHost } from '../../src/host/index.js';
import type { FeedRetention } from '../../src/backends/ports.js';
import { captureLogger } from '../backends/redis/support.js';
import { until } from '../conformance/harness.js';
import { silentLogger } from '../support/runtime.js';

/** A memory backend whose feed notifications pass through `filter` (false: lost). */
class LossyBackend extends MemoryBackend {
  constructor(network: MemoryNetwork, nodeId: string, filter: (entry: FeedEntry) => boolean) {
    super({ nodeId, network });
    const watch = this.feeds.watch.bind(this.feeds);
    this.feeds.watch = (collection, listener): Promise<PortSubscription> =>
      watch(collection, (entry) => {
        if (entry === undefined || filter(entry)) listener(entry);
      });
  }
}

async function start(backend: MemoryBackend, retention?: FeedRetention, logger = silentLogger) {
  const runtime = createRuntime({
    backend,
    logger,
    ...(retention === undefined ? {} : { dataSync: retention }),
  });
  await runtime.start();
  const ctx = (name: string) =>
    runtime.createContext({ name, version: '1.0.0', permissions: undefined, options: {} }).context;
  return { runtime, ctx };
}

describe('dataSync watchers: edge cases (embedded backend)', () => {
  it('reads what it missed when notifications are lost (a later one shows the gap)', async () => {
    const network = new MemoryNetwork();
    const lost = new Set([3, 4, 5, 10]);
    const reader = await start(new LossyBackend(network, 'r', (e) => !lost.has(e.seq)));
    const writer = await start(new MemoryBackend({ nodeId: 'w', network }));
    const seen: number[] = [];
    const sub = reader.ctx('a').dataSync.watch('c', (c) => void seen.push(c.seq));
    await sub.ready;
    for (let i = 1; i <= 12; i++) {
      await writer.ctx('p').dataSync.publish('c', { type: 'create', id: i });
      // One at a time, so each notification finds the watcher idle (a lost one is not awaited).
      if (!lost.has(i)) await until(() => seen.at(-1) === i, 2000, `change ${i}`);
    }
    await until(() => seen.length === 12, 2000, 'every change');
    assert.deepEqual(
      seen,
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    await sub.unsubscribe();
    await Promise.all([reader.runtime.close(), writer.runtime.close()]);
  });

  it('stays bounded and complete when changes arrive faster than the handler', async () => {
    const { runtime, ctx } = await start(new MemoryBackend({ nodeId: 'fast' }));
    const seen: number[] = [];
    const sub = ctx('slow').dataSync.watch('c', async (c) => {
      seen.push(c.seq);
      if (c.seq % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    });
    await sub.ready;
    const writer = ctx('w').dataSync;
    // 3000 at once: more than the watcher buffers (1000), so it reads the rest.
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) => writer.publish('c', { type: 'update', id: i })),
    );
    await until(() => seen.length === 3000, 10_000, 'every change');
    assert.deepEqual(
      seen,
      Array.from({ length: 3000 }, (_, i) => i + 1),
    );
    await runtime.close();
  });

  it('gets what is left, with a warning, when retention overtook its cursor', async () => {
    const { logger, lines } = captureLogger();
    const { runtime, ctx } = await start(
      new MemoryBackend({ nodeId: 'ret' }),
      { maxChanges: 5, maxAgeMs: 3_600_000 },
      logger,
    );
    const seen: number[] = [];
    const sub = ctx('a').dataSync.watch('c', (c) => void seen.push(c.seq), { name: 'slow' });
    await sub.ready;
    await ctx('w').dataSync.publish('c', { type: 'create', id: 1 });
    await until(() => seen.length === 1, 2000, 'the first');
    await sub.unsubscribe();
    for (let i = 2; i <= 12; i++) await ctx('w').dataSync.publish('c', { type: 'create', id: i });
    const again = ctx('a').dataSync.watch('c', (c) => void seen.push(c.seq), { name: 'slow' });
    await until(() => seen.length === 6, 2000, 'what is left');
    assert.deepEqual(seen, [1, 8, 9, 10, 11, 12]);
    const warning = lines.find((l) => String(l['msg']).includes('fell behind retention'));
    assert.equal(warning?.['missed'], 6);
    await again.unsubscribe();
    await runtime.close();
  });

  it("starts a from: 'start' watcher at the oldest kept change, with no retention warning", async () => {
    const { logger, lines } = captureLogger();
    const { runtime, ctx } = await start(
      new MemoryBackend({ nodeId: 'start' }),
      { maxChanges: 5, maxAgeMs: 3_600_000 },
      logger,
    );
    for (let i = 1; i <= 12; i++) await ctx('w').dataSync.publish('c', { type: 'create', id: i });
    const seen: number[] = [];
    const sub = ctx('a').dataSync.watch('c', (c) => void seen.push(c.seq), { from: 'start' });
    await until(() => seen.length === 5, 2000, 'the kept five');
    assert.deepEqual(seen, [8, 9, 10, 11, 12]);
    assert.equal(
      lines.find((l) => String(l['msg']).includes('fell behind retention')),
      undefined,
      'nothing was missed: the oldest kept change is where it starts',
    );
    await sub.unsubscribe();
    await runtime.close();
  });

  it('sync() awaited inside a watcher of the same collection does not wait for itself', async () => {
    const { runtime, ctx } = await start(new MemoryBackend({ nodeId: 'reentrant' }));
    const plugin = ctx('a').dataSync;
    const seen: string[] = [];
    let replayed = -1;
    const sub = plugin.watch('c', async (c) => {
      seen.push(`${c.seq}`);
      if (c.seq === 2 && replayed < 0)
        replayed = await plugin.sync('c', { from: 0, to: Date.now() });
    });
    await sub.ready;
    await ctx('w').dataSync.publish('c', { type: 'create', id: 1 });
    await ctx('w').dataSync.publish('c', { type: 'create', id: 2 });
    await until(() => replayed === 2 && seen.length === 4, 2000, 'the replay after the handler');
    assert.deepEqual(seen, ['1', '2', '1', '2']);
    await sub.unsubscribe();
    await runtime.close();
  });

  it('unsubscribe() from inside the handler stops at once and keeps the cursor', async () => {
    const { runtime, ctx } = await start(new MemoryBackend({ nodeId: 'self-stop' }));
    const seen: number[] = [];
    const sub = ctx('a').dataSync.watch(
      'c',
      async (c) => {
        seen.push(c.seq);
        if (c.seq === 2) await sub.unsubscribe();
      },
      { name: 'once', from: 'start' },
    );
    await sub.ready;
    for (let i = 1; i <= 4; i++) await ctx('w').dataSync.publish('c', { type: 'create', id: i });
    await until(() => seen.length === 2 && !sub.active, 2000, 'the self-unsubscribe');
    const rest: number[] = [];
    const again = ctx('a').dataSync.watch('c', (c) => void rest.push(c.seq), { name: 'once' });
    await until(() => rest.length === 2, 2000, 'the rest');
    assert.deepEqual(
      [seen, rest],
      [
        [1, 2],
        [3, 4],
      ],
    );
    await again.unsubscribe();
    await runtime.close();
  });

  it('a watch whose start failed is no longer active', async () => {
    const backend = new MemoryBackend({ nodeId: 'n', network: new MemoryNetwork() });
    backend.feeds.lastSeq = () => Promise.reject(new Error('backend away'));
    const { runtime, ctx } = await start(backend);
    const sub = ctx('a').dataSync.watch('c', () => undefined);
    await assert.rejects(sub.ready, /backend away/);
    assert.equal(sub.active, false);
    await runtime.close();
  });

  it('keeps no state for a collection that was only watched, once unwatched', async () => {
    const network = new MemoryNetwork();
    const { runtime, ctx } = await start(new MemoryBackend({ nodeId: 'n', network }));
    for (let i = 0; i < 50; i++) {
      const sub = ctx('a').dataSync.watch(`c${i}`, () => undefined);
      await sub.ready;
      await sub.unsubscribe();
    }
    assert.equal(network.feedState.feeds.size, 0);
    await runtime.close();
  });

  it('refuses a bad dataSync host option', async () => {
    for (const dataSync of [
      { maxChanges: 0 },
      { maxAgeMs: -1 },
      { maxChanges: 1.5 },
      { maxAgeMs: NaN },
    ]) {
      await assert.rejects(
        createHost({ logger: false, dataSync }),
        (error: unknown) => error instanceof ValidationError && /dataSync\./.test(error.message),
      );
    }
    await assert.rejects(
      createHost({ logger: false, dataSync: 5 as unknown as { maxChanges: number } }),
      ValidationError,
    );
  });
});
