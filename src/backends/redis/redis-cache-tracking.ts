import type { CacheInvalidation, PortSubscription } from '../ports.js';
import type { RedisStoreDeps } from './store-deps.js';

/**
 * Invalidations of the shared cache's keys for this node (`CacheStore.watchInvalidations`).
 * BASE STUB: the cache-tiers helper owns this file; `RedisCacheStore.watchInvalidations`
 * delegates here.
 */
export class RedisCacheTracking {
  constructor(
    readonly deps: RedisStoreDeps,
    /** Every cache key starts with it (what the tracking covers). */
    readonly keyPrefix: string,
  ) {}

  watch(listener: (invalidation: CacheInvalidation) => void): Promise<PortSubscription> {
    void listener;
    throw new Error('TODO(issue 9): cache tracking');
  }

  close(): void {}
}
