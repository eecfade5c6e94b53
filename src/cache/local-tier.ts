import type { PluginScope } from '../context/plugin-scope.js';
import type { CacheEnv } from './cache.js';
import type { LocalCache, LocalCacheOptions } from './tier-types.js';

/** `context.cache.local(options)`. BASE STUB: the cache-tiers helper owns this file. */
export function createLocalTier<T>(
  env: CacheEnv,
  scope: PluginScope,
  options: LocalCacheOptions = {},
): LocalCache<T> {
  void env;
  void scope;
  void options;
  throw new Error('TODO(issue 9): local tier');
}
