import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import { createHost } from '../../../src/host/index.js';
import {
  bytes,
  captureLogger,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
  waitFor,
  type CapturedLog,
} from './support.js';

/** Corrupt or forged state in Redis is skipped and counted, never fatal. */
describe('Redis backend with poisoned state', () => {
  const namespace = uniqueNamespace('poison');
  const option = { redis: SHARED_REDIS_URL, namespace };
  const keys = createKeys(namespace);
  let raw: Redis;
  let a: Backend;
  let log: CapturedLog;
  const faults = (backend: Backend) => (backend as RedisBackend).faults;

  before(async () => {
    raw = new Redis(SHARED_REDIS_URL);
    log = captureLogger();
    a = await startBackend(option, 'poison-a', log.logger);
  });
  after(async () => {
    await a?.close();
    raw?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('skips empty and overflowing registry entries: list, watch, remove and a new node all work', async (t) => {
    await a.registry.put('rpc', 'good', bytes('v'));
    await raw.hset(keys.entries('rpc'), 'x', '');
    // Node length 200, but only 2 bytes follow ("ab" could even be a live node's id).
    await raw.hset(keys.entries('rpc'), 'y', Buffer.from([200, 0x61, 0x62]));
    await raw.hset(keys.entries('rpc'), 'z', Buffer.from([0]));
    const before = faults(a).malformedEntry;
    assert.deepEqual(
      (await a.registry.list('rpc')).map((r) => `${r.nodeId}/${r.id}`),
      ['poison-a/good'],
    );
    assert.equal(faults(a).malformedEntry - before, 3);
    figure(
      t,
      'malformed registry entries skipped and counted',
      faults(a).malformedEntry - before,
      'of 3',
    );
    // A node joining this namespace starts, watches and lists the kind.
    const b = await startBackend(option, 'poison-b');
    try {
      const seen: string[] = [];
      await b.registry.watch('rpc', (c) => seen.push(c.type));
      assert.deepEqual(
        (await b.registry.list('rpc')).map((r) => r.id),
        ['good'],
      );
      await b.registry.remove('rpc', 'x');
      await b.registry.put('rpc', 'from-b', bytes('w'));
      await waitFor(() => seen.includes('put'), 2000, 'a put seen by the new node');
    } finally {
      await b.close();
    }
  });

  it('lets hosts start in a namespace whose rpc registry holds an empty field', async (t) => {
    const ns = uniqueNamespace('poison-host');
    await raw.hset(`{${ns}}:reg:rpc`, 'x', '');
    const host = await createHost({
      nodeId: 'poison-host',
      backend: { redis: SHARED_REDIS_URL, namespace: ns },
      logger: captureLogger().logger,
    });
    try {
      const startedAt = Date.now();
      await host.start();
      figure(t, 'host start next to an empty rpc field', Date.now() - startedAt, 'ms');
    } finally {
      await host.stop();
      await deleteNamespace(SHARED_REDIS_URL, ns);
    }
  });

  it('skips a registry key of the wrong type, and a put replaces it', async (t) => {
    await raw.set(keys.entries('k.string'), 'not a hash');
    const before = faults(a).wrongTypeKey;
    assert.deepEqual(await a.registry.list('k.string'), []);
    assert.equal(faults(a).wrongTypeKey - before, 1);
    figure(
      t,
      'registry keys of the wrong type skipped and counted',
      faults(a).wrongTypeKey - before,
      'of 1',
    );
    const changes: string[] = [];
    await a.registry.watch('k.string', (c) => changes.push(c.type));
    await a.registry.put('k.string', 'fresh', bytes('v'));
    assert.deepEqual(
      (await a.registry.list('k.string')).map((r) => r.id),
      ['fresh'],
    );
    await waitFor(() => changes.length === 1, 2000, 'the put to be watched');
    assert.equal(await raw.type(keys.entries('k.string')), 'hash');
  });

  it('repairs a queue message whose meta is garbage instead of failing every claim', async (t) => {
    const q = 'q.poison';
    const first = await a.queues.enqueue(q, bytes('one'));
    await a.queues.enqueue(q, bytes('two'));
    await raw.hset(keys.queue(q).meta, first, 'garbage');
    const before = faults(a).malformedQueueMessage;
    const claimed = await a.queues.claim(q, 'c', { count: 10, leaseMs: 60_000, waitMs: 0 });
    assert.deepEqual(
      claimed.map((m) => [text(m.payload), m.attempt]),
      [
        ['one', 1],
        ['two', 1],
      ],
    );
    assert.equal(faults(a).malformedQueueMessage - before, 1);
    figure(t, 'messages claimed past a garbage meta field', claimed.length, 'of 2');
    for (const m of claimed) assert.equal(await a.queues.ack(q, m.id, m.lease), true);
  });

  it('drops garbage change frames, counts them, and logs them rate-limited', async (t) => {
    const changes: string[] = [];
    await a.registry.watch('k.flood', (c) => changes.push(c.type));
    const before = faults(a).malformedChange;
    const channel = keys.changeChannel('k.flood');
    for (let i = 0; i < 300; i++) await raw.publish(channel, Buffer.from([0x50, 0xff, i % 256]));
    await raw.publish(channel, Buffer.alloc(0));
    await a.registry.put('k.flood', 'marker', bytes('v'));
    await waitFor(() => changes.length === 1, 3000, 'the marker put');
    assert.equal(faults(a).malformedChange - before, 301);
    const lines = log.lines.filter((l) => l.msg.startsWith('Dropped a malformed registry change'));
    assert.ok(lines.length <= 2, `${lines.length} log lines for 301 garbage frames`);
    figure(
      t,
      'garbage change frames dropped and counted',
      faults(a).malformedChange - before,
      'of 301',
    );
    figure(t, 'log lines for 301 garbage change frames', lines.length);
    assert.ok(
      lines.every((l) => JSON.stringify(l).length < 600 && !('stack' in l)),
      'short lines without a stack',
    );
  });
});
