import type { PluginScope } from '../context/plugin-scope.js';
import type { CacheEnv } from './cache.js';
import type { TieredCache, TieredCacheOptions } from './tier-types.js';

/** `context.cache.tiered(options)`. BASE STUB: the cache-tiers helper owns this file. */
export function createTieredCache<T>(
  env: CacheEnv,
  scope: PluginScope,
  options: TieredCacheOptions<T>,
): TieredCache<T> {
  void env;
  void scope;
  void options;
  throw new Error('TODO(issue 9): tiered cache');
}
