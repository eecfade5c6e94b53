import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { RegistryChange } from '../../../src/backends/ports.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, figure, startBackend, text, uniqueNamespace, waitFor } from './support.js';

type SourceMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * Hold the answer of the next call of one of a watcher's change-source reads (`snapshot` or
 * `changes`) after Redis gave it, until `release()`: the read itself runs on Redis at once,
 * only its arrival at the watcher is delayed. This forces, every run, an interleaving that a
 * loaded machine produces now and then.
 */
function holdNextAnswer(
  backend: RedisBackend,
  method: 'snapshot' | 'changes',
): { answered: Promise<void>; release: () => void } {
  const source = (
    backend.registry as unknown as { watches: { source: Record<string, SourceMethod> } }
  ).watches.source;
  const original = source[method]!;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const answered = new Promise<void>((resolve) => (arrived = resolve));
  let held = false;
  source[method] = async (...args: unknown[]) => {
    const result = await original(...args);
    if (!held) {
      held = true;
      arrived();
      await released;
    }
    return result;
  };
  return { answered, release };
}

const describeChange = (c: RegistryChange): string =>
  c.type === 'put' ? `put:${c.record.id}=${text(c.record.value)}` : `delete:${c.id}`;

/**
 * A registry change log that starts afresh (Redis restarted empty, or the keys were lost)
 * numbers its changes from 1 again: watchers holding a position in the old log must still
 * apply every change of the new one. Each test empties its own throwaway server with FLUSHALL
 * (a restart's effect on data, without the reconnect, so the test decides when the watcher's
 * repair runs); heartbeats are far apart so that nodes rejoin only when a test says.
 */
describe('Redis registry watchers when the change log starts afresh', () => {
  let server: RedisServer;
  let raw: Redis;
  let watcher: RedisBackend;
  let owner: RedisBackend;
  let changes: string[];

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });
  after(async () => {
    raw?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await raw.flushall();
    const option = {
      redis: server.url,
      namespace: uniqueNamespace('restart'),
      livenessTtl: 60_000,
    };
    watcher = (await startBackend(option, 'watcher')) as RedisBackend;
    owner = (await startBackend(option, 'owner')) as RedisBackend;
    changes = [];
  });
  afterEach(async () => {
    await Promise.allSettled([watcher?.close(), owner?.close()]);
  });

  it('applies the first change of a new log whose number the watcher already holds', async (t) => {
    await watcher.registry.watch('rpc', (c) => changes.push(describeChange(c)));
    await owner.registry.put('rpc', 'svc', bytes('1'));
    await waitFor(() => changes.includes('put:svc=1'), 5000, 'the first put');

    // The log is gone; the owner's next put rejoins and is change 1 of a new log, the number
    // the watcher already holds from the old one.
    await raw.flushall();
    const flushedAt = Date.now();
    await owner.registry.put('rpc', 'svc', bytes('2'));
    await waitFor(() => changes.includes('put:svc=2'), 5000, 'the put logged in the new log');
    figure(t, 'new log, same number: change delivered after', Date.now() - flushedAt, 'ms');
    assert.deepEqual(changes, ['put:svc=1', 'put:svc=2']);
    assert.deepEqual(
      (await watcher.registry.list('rpc')).map((r) => `${r.id}=${text(r.value)}`),
      ['svc=2'],
    );
    assert.equal(watcher.faults.unconfirmedChange, 0, 'a real change is never judged forged');
  });

  it('applies a re-put heard before the repair listing (taken before the re-put) lands', async (t) => {
    await watcher.registry.watch('rpc', (c) => changes.push(describeChange(c)));
    await owner.registry.put('rpc', 'svc', bytes('1'));
    await waitFor(() => changes.includes('put:svc=1'), 5000, 'the first put');
    changes.length = 0;

    const listing = holdNextAnswer(watcher, 'snapshot');
    const read = holdNextAnswer(watcher, 'changes');
    await raw.flushall();
    // The watcher's repair lists the empty kind, but its answer is slow to arrive...
    const repaired = watcher.registry.resyncWatchers();
    await listing.answered;
    // ...the owner rejoins and puts its entry again (change 1 of a new log); the watcher hears
    // it and reads the log from the position it still holds, change 1 of the old log.
    assert.equal(await owner.registry.heartbeat(), false, 'the owner rejoined');
    await read.answered;
    // The listing lands first: the watcher is told the entry is gone (true when listed)...
    listing.release();
    await waitFor(() => changes.includes('delete:svc'), 5000, 'the listing');
    const releasedAt = Date.now();
    // ...then the read's answer, asked from the old position: the re-put must not be lost.
    read.release();
    await repaired;
    await waitFor(() => changes.includes('put:svc=1'), 5000, 'the re-put');
    figure(t, 'listing raced the re-put: re-put delivered after', Date.now() - releasedAt, 'ms');
    assert.deepEqual(changes, ['delete:svc', 'put:svc=1']);
    assert.equal(watcher.faults.unconfirmedChange, 0, 'a real change is never judged forged');
  });

  it('never moves the mirror back to a listing older than the changes it applied', async () => {
    await watcher.registry.watch('k.back', (c) => changes.push(describeChange(c)));
    await owner.registry.put('k.back', 'x', bytes('1'));
    await waitFor(() => changes.includes('put:x=1'), 5000, 'the first put');

    const listing = holdNextAnswer(watcher, 'snapshot');
    const repaired = watcher.registry.resyncWatchers();
    await listing.answered;
    // A change after the listing was taken, applied from the log before the listing lands.
    await owner.registry.put('k.back', 'y', bytes('2'));
    await waitFor(() => changes.includes('put:y=2'), 5000, 'the second put');
    listing.release();
    await repaired;
    await owner.registry.put('k.back', 'marker', bytes('3'));
    await waitFor(() => changes.includes('put:marker=3'), 5000, 'the marker');
    assert.deepEqual(changes, ['put:x=1', 'put:y=2', 'put:marker=3']);
  });

  it('puts its entries again on later heartbeats until one rejoin put them all', async () => {
    await owner.registry.put('k.big', 'big', new Uint8Array(4 * 1024 * 1024));
    await owner.registry.put('k.small', 'small', bytes('1'));
    await raw.flushall();
    // Too little room for both entries: one put of the rejoin fails (OOM). In real life: a
    // timeout or a dropped connection in the middle of a rejoin.
    const used = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))?.[1]);
    await raw.config('SET', 'maxmemory', String(used + 1024 * 1024));
    try {
      await assert.rejects(owner.registry.heartbeat(), /OOM/, 'the rejoin failed in part');
    } finally {
      await raw.config('SET', 'maxmemory', '0');
    }
    const listed = async (): Promise<string[]> => [
      ...(await watcher.registry.list('k.big')).map((r) => `${r.id}:${r.value.byteLength}`),
      ...(await watcher.registry.list('k.small')).map((r) => `${r.id}=${text(r.value)}`),
    ];
    assert.ok((await listed()).length < 2, 'an entry is missing after the failed rejoin');
    // Redis knows the node again, but not all of its entries: the next heartbeat puts them.
    await owner.registry.heartbeat();
    assert.deepEqual(await listed(), [`big:${4 * 1024 * 1024}`, 'small=1']);
    assert.equal(await owner.registry.heartbeat(), true, 'then live, with nothing owed');
  });
});
