import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertOneSlot, keySlot } from '../../src/backends/redis/key-slots.js';
import { createKeys } from '../../src/backends/redis/keys.js';

describe('Redis Cluster slot check for cache multi()', () => {
  const keys = createKeys('shop');

  it('computes the slots Redis documents', () => {
    // CLUSTER KEYSLOT answers (Redis Cluster specification examples).
    assert.equal(keySlot('foo'), 12182);
    assert.equal(keySlot('{user1000}.following'), keySlot('user1000'));
    assert.equal(keySlot('foo{}{bar}'), keySlot('foo{}{bar}'));
    assert.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'));
  });

  it('cache keys hash on their own names, not on the namespace', () => {
    assert.equal(keys.cacheKey('user:1'), 'shop:c:user:1');
    assert.equal(keys.cacheLoadKey('user:1'), 'shop:cl:user:1');
    assert.ok(keys.cacheKey('x').startsWith(keys.cachePrefix));
    assert.ok(!keys.cacheLoadKey('x').startsWith(keys.cachePrefix), 'leases are not tracked');
    const slots = new Set(['a', 'b', 'c', 'd', 'e'].map((k) => keySlot(keys.cacheKey(k))));
    assert.ok(slots.size > 1, 'a namespace spreads over slots');
    // A user's {tag} decides the slot.
    assert.equal(
      keySlot(keys.cacheKey('{user:1}:profile')),
      keySlot(keys.cacheKey('{user:1}:cart')),
    );
  });

  it('refuses keys of several slots with CrossSlotError, accepts one slot', () => {
    assertOneSlot([], 'x');
    assertOneSlot([keys.cacheKey('a')], 'x');
    assertOneSlot([keys.cacheKey('{u1}:a'), keys.cacheKey('{u1}:b'), keys.cacheKey('{u1}:a')], 'x');
    assert.throws(
      () =>
        assertOneSlot([keys.cacheKey('user:1'), keys.cacheKey('user:2')], 'apply a cache multi()'),
      (error: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(error.code, 'PB_CROSS_SLOT');
        assert.match(error.message, /\{tag\}/);
        assert.equal((error.details?.['slots'] as number[]).length, 2);
        return true;
      },
    );
  });
});
