import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MEMORY_CACHE_MAX_BYTES,
  MemoryCacheState,
  MemoryCacheStore,
} from '../../src/backends/memory/memory-cache-store.js';
import type { CacheInvalidation } from '../../src/backends/ports.js';

const kib = (n: number): Uint8Array => new Uint8Array(n * 1024);

describe('memory cache: byte bound and LRU eviction (memory only)', () => {
  it('defaults to 64 MiB and validates maxBytes', () => {
    assert.equal(new MemoryCacheState().maxBytes, MEMORY_CACHE_MAX_BYTES);
    for (const maxBytes of [0, 1023, 1.5, Number.NaN])
      assert.throws(() => new MemoryCacheState({ maxBytes }), { code: 'PB_VALIDATION' });
  });

  it('refuses a value larger than the whole cache, evicting nothing', async () => {
    const state = new MemoryCacheState({ maxBytes: 10 * 1024 });
    const store = new MemoryCacheStore('n1', state);
    await store.set('kept', kib(3));
    await assert.rejects(store.set('huge', kib(11)), { code: 'PB_PAYLOAD_TOO_LARGE' });
    await assert.rejects(store.setIfVersion('huge', kib(11), null), {
      code: 'PB_PAYLOAD_TOO_LARGE',
    });
    await assert.rejects(
      store.exec([
        { op: 'delete', key: 'kept' },
        { op: 'set', key: 'huge', value: kib(11) },
      ]),
      { code: 'PB_PAYLOAD_TOO_LARGE' },
    );
    assert.equal(await store.has('kept'), true, 'nothing was evicted or applied');
    assert.equal(await store.has('huge'), false);
  });

  it('evicts the least recently used entries past the bound, and announces them', async () => {
    const state = new MemoryCacheState({ maxBytes: 10 * 1024 });
    const store = new MemoryCacheStore('n1', state);
    const heard: string[] = [];
    await store.watchInvalidations((i: CacheInvalidation) => {
      if (i.kind === 'keys') heard.push(...i.keys);
    });
    for (const key of ['a', 'b', 'c']) await store.set(key, kib(3));
    await store.get('a'); // a is now the most recent: b goes first
    await store.set('d', kib(3));
    assert.equal(await store.has('b'), false);
    assert.deepEqual(await Promise.all(['a', 'c', 'd'].map((k) => store.has(k))), [
      true,
      true,
      true,
    ]);
    assert.ok(state.heldBytes <= state.maxBytes);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(heard.includes('b'), 'the evicted key is announced');

    // has() does not count as a use (like EXISTS): c is evicted before it.
    await store.has('c');
    await store.get('a');
    await store.get('d');
    await store.set('e', kib(3));
    assert.equal(await store.has('c'), false);

    store.close();
  });

  it('frees the bytes of deleted and expired entries', async () => {
    const state = new MemoryCacheState({ maxBytes: 1024 * 1024 });
    const store = new MemoryCacheStore('n1', state);
    // The expiry timer announces what it removed: wait for that (bounded), not a fixed time.
    let timer: NodeJS.Timeout | undefined;
    const lapsed = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('y never expired')), 2000);
      state.listen((i) => {
        if (i.kind === 'keys' && i.keys.includes('y') && state.size === 0) resolve();
      });
    }).finally(() => clearTimeout(timer));
    await store.set('x', kib(10));
    await store.set('y', kib(10), 1);
    assert.ok(state.heldBytes > 20 * 1024);
    await store.delete('x');
    await lapsed;
    assert.equal(state.size, 0, 'the expiry timer removed y without a read');
    assert.equal(state.heldBytes, 0);
    store.close();
  });

  it('a closed store refuses every call and stops its listeners', async () => {
    const state = new MemoryCacheState();
    const store = new MemoryCacheStore('n1', state);
    const heard: CacheInvalidation[] = [];
    await store.watchInvalidations((i) => heard.push(i));
    store.close();
    await assert.rejects(store.get('k'), { code: 'PB_BACKEND_UNAVAILABLE' });
    await assert.rejects(
      store.watchInvalidations(() => {}),
      { code: 'PB_BACKEND_UNAVAILABLE' },
    );
    await new MemoryCacheStore('n2', state).set('k', kib(1));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(heard, []);
  });
});
