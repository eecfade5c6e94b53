import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { RedisBackend } from '../../src/backends/redis/redis-backend.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
} from '../backends/redis/support.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('Redis cache store: layout and foreign state (Redis only)', () => {
  const namespace = uniqueNamespace('cache');
  let backend: RedisBackend;
  let redis: Redis;
  before(async () => {
    backend = (await startBackend({ redis: SHARED_REDIS_URL, namespace })) as RedisBackend;
    redis = new Redis(SHARED_REDIS_URL);
  });
  after(async () => {
    await backend.close();
    redis.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('stores an entry as one STRING ns:c:<key>: 16 bytes of version, then the value, with its TTL', async () => {
    const version = await backend.cache.set('user:1', bytes('hello'), 3_600_000);
    const raw = await redis.getBuffer(`${namespace}:c:user:1`);
    assert.ok(raw !== null);
    assert.equal(raw.subarray(0, 16).toString('latin1'), version);
    assert.equal(raw.subarray(16).toString(), 'hello');
    const ttl = await redis.pttl(`${namespace}:c:user:1`);
    assert.ok(ttl > 3_590_000 && ttl <= 3_600_000, `PTTL ${ttl}`);
    // A load lease lives beside it, with its lease as expiry.
    assert.equal(await backend.cache.claimLoad('user:1', 'me', 5000), true);
    assert.equal(await redis.get(`${namespace}:cl:user:1`), 'me');
    assert.ok((await redis.pttl(`${namespace}:cl:user:1`)) > 0);
  });

  it('writes any key and value bytes in its one SET frame (UTF-8 key, binary value, no TTL)', async () => {
    const key = 'clé:日本:\u{1f600}';
    const value = Uint8Array.from([0, 13, 10, 36, 42, 255, 128]);
    const version = await backend.cache.set(key, value);
    const raw = await redis.getBuffer(Buffer.from(`${namespace}:c:${key}`));
    assert.ok(raw !== null);
    assert.equal(raw.subarray(0, 16).toString('latin1'), version);
    assert.deepEqual(Uint8Array.from(raw.subarray(16)), value);
    assert.equal(await redis.pttl(`${namespace}:c:${key}`), -1);
    const read = await backend.cache.get(key);
    assert.deepEqual(Uint8Array.from(read!.value), value);
    assert.equal(read!.version, version);
    // The connection still parses replies in order after it.
    assert.equal(await backend.cache.has(key), true);
    await backend.cache.set(key, new Uint8Array(0), 60_000);
    assert.equal((await backend.cache.get(key))!.value.byteLength, 0);
  });

  it('reads a value without a version (written by something else) as a miss, and counts it', async () => {
    const before = backend.faults.malformedCacheValue;
    await redis.set(`${namespace}:c:foreign`, 'abc');
    assert.equal(await backend.cache.get('foreign'), undefined);
    const [found] = await backend.cache.exec([{ op: 'get', key: 'foreign' }]);
    assert.equal(found, undefined);
    assert.equal(backend.faults.malformedCacheValue, before + 2);
    // A compare-and-set against "absent" does not overwrite it; a plain set does.
    assert.equal(await backend.cache.setIfVersion('foreign', bytes('x'), null), undefined);
    await backend.cache.set('foreign', bytes('mine'));
    assert.equal(Buffer.from((await backend.cache.get('foreign'))!.value).toString(), 'mine');
  });

  it('a key of the wrong type fails reads with a typed error, and a batch reading it applies nothing', async () => {
    await redis.hset(`${namespace}:c:hash`, 'f', 'v');
    await assert.rejects(backend.cache.get('hash'), { code: 'PB_BACKEND_UNAVAILABLE' });
    await assert.rejects(
      backend.cache.exec([
        { op: 'set', key: 'before-hash', value: bytes('1') },
        { op: 'get', key: 'hash' },
      ]),
      { code: 'PB_BACKEND_UNAVAILABLE' },
    );
    assert.equal(await backend.cache.has('before-hash'), false);
    // A write replaces it (SET overwrites any type).
    await backend.cache.set('hash', bytes('now a string'));
    assert.ok((await backend.cache.get('hash')) !== undefined);
  });

  it('refuses calls after close with BackendUnavailableError (nothing sent)', async () => {
    const other = (await startBackend({ redis: SHARED_REDIS_URL, namespace })) as RedisBackend;
    await other.close();
    for (const call of [
      () => other.cache.get('k'),
      () => other.cache.set('k', bytes('v')),
      () => other.cache.exec([{ op: 'get', key: 'k' }]),
      () => other.cache.claimLoad('k', 'o', 100),
      () => other.cache.watchInvalidations(() => {}),
    ])
      await assert.rejects(call(), { code: 'PB_BACKEND_UNAVAILABLE' });
  });
});
