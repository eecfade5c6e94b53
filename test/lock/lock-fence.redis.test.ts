/** The fencing token on the uncontended fast path of acquire-lock-4.lua: never below the last one. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../src/backends/ports.js';
import { createKeys } from '../../src/backends/redis/keys.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
} from '../backends/redis/support.js';

describe('lock fencing tokens on Redis (free lock, empty line)', () => {
  const namespace = uniqueNamespace('fence');
  let backend: Backend;
  let raw: Redis;
  before(async () => {
    backend = await startBackend({ redis: SHARED_REDIS_URL, namespace });
    raw = new Redis(SHARED_REDIS_URL);
  });
  after(async () => {
    await backend.close();
    raw.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('takes the clock when it is above the last token, and last + 1 when it is not', async () => {
    const fence = createKeys(namespace).lock('r').fence;
    const first = await backend.locks.acquire('r', 'a', 10_000, 0);
    assert.ok(first.granted);
    const nowUs = Date.now() * 1000;
    assert.ok(Math.abs(first.fencingToken - nowUs) < 60_000_000, 'about the clock in µs');
    assert.equal(await raw.get(fence), String(first.fencingToken));
    assert.ok(await backend.locks.release('r', 'a'));
    // A last token ahead of the clock (grants within one µs, or a clock set back).
    const ahead = first.fencingToken + 3_600_000_000;
    await raw.set(fence, String(ahead));
    const second = await backend.locks.acquire('r', 'b', 10_000, 0);
    assert.ok(second.granted && second.fencingToken === ahead + 1);
    assert.equal(await raw.get(fence), String(ahead + 1));
    assert.ok((await raw.pttl(fence)) > 10_000, 'kept a day past the TTL');
    assert.ok(await backend.locks.release('r', 'b'));
  });
});
