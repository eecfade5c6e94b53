/** Where locks live: Redis key layout (one slot per resource) and the memory state's bounds. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createKeys } from '../../src/backends/redis/keys.js';

/** The Redis Cluster slot of a key (ioredis's own implementation; it ships no types). */
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

describe('lock key layout on Redis', () => {
  it('puts every key and the channel of one resource in one slot, resources spread', () => {
    const slots = new Set<number>();
    const names = ['resource:lock', 'stock:kimono', 'a.b.c', 'x/y@z$', 'orders:q:seq', 'çà'];
    for (const db of [0, 3]) {
      for (const name of names) {
        const k = createKeys('ns', db).lock(name);
        const own = new Set(
          [k.owner, k.fence, k.line, k.lineDeadlines, k.notify].map((key) => calculateSlot(key)),
        );
        assert.equal(own.size, 1, `${name}: keys in ${own.size} slots`);
        assert.ok(k.owner.startsWith(`{ns:l:${name}}:`));
        slots.add([...own][0]!);
      }
    }
    assert.equal(slots.size, names.length, 'one slot per resource, whatever the database');
    assert.notEqual(createKeys('ns', 3).lock('r').notify, createKeys('ns').lock('r').notify);
  });
});

describe('memory lock state', () => {
  it('keeps no entry for a free resource nobody waits for', async () => {
    const network = new MemoryNetwork();
    const node = new MemoryBackend({ nodeId: 'n', network });
    for (let i = 0; i < 3000; i++) {
      assert.equal((await node.locks.acquire(`r${i}`, 'o', 10_000, 0)).granted, true);
      assert.equal(await node.locks.release(`r${i}`, 'o'), true);
    }
    assert.equal(network.lockState.entries.size, 0);
    const sub = await node.locks.watch('r', () => undefined);
    await sub.close();
    assert.equal(network.lockState.watchers.size, 0);
    await node.close();
  });

  it('sweeps lapsed locks and lines as the map grows', async () => {
    const network = new MemoryNetwork();
    const node = new MemoryBackend({ nodeId: 'n', network });
    for (let i = 0; i < 5000; i++) await node.locks.acquire(`r${i}`, 'o', 1, 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 2000; i++) await node.locks.acquire(`s${i}`, 'o', 1, 0);
    assert.ok(network.lockState.entries.size < 3100, `${network.lockState.entries.size} entries`);
    await node.close();
  });

  it('refuses every call once closed', async () => {
    const node = new MemoryBackend({ nodeId: 'n', network: new MemoryNetwork() });
    await node.close();
    await assert.rejects(node.locks.acquire('r', 'o', 10, 0), { code: 'PB_BACKEND_UNAVAILABLE' });
  });
});
