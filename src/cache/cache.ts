import type { Logger } from 'pino';
import type { CacheRecord, CacheStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { PluginScope } from '../context/plugin-scope.js';
import { CacheConflictError, ContextClosedError, ValidationError } from '../errors/errors.js';
import type { Deadlines } from '../util/deadlines.js';
import { assertKey, attempts, encodeValue, optionalTtlMs, ttlMs } from './cache-input.js';
import { invalidateOwnWrite } from './invalidation-hub.js';
import { createLocalTier } from './local-tier.js';
import { CacheBatch } from './multi.js';
import { createTieredCache } from './tiered-cache.js';
import type { Cache, CacheEntry, CacheSetOptions, CacheUpdateOptions } from './types.js';

/** What the runtime gives the block (one per host). */
export interface CacheEnv {
  store: CacheStore;
  /** The cache's codec: no size limit of its own ({@link maxValueBytes} is the cache's). */
  codec: Codec;
  logger: Logger;
  deadlines: Deadlines;
  nodeId: string;
  /** Largest encoded value, bytes (`createHost({ cache: { maxValueBytes } })`). */
  maxValueBytes: number;
  /** Counts hits and misses of `get` (none: no metrics). */
  metrics?: { cacheRead(hit: boolean): void };
}

/**
 * `context.cache` for one plugin: validates keys, TTLs (seconds at the API, ms below) and
 * values, encodes with the codec, and speaks to the shared cache store. The cache is one
 * namespace for every plugin (keys are not prefixed per plugin: plugins share data through
 * it). After the plugin stopped every call rejects with `ContextClosedError`.
 */
export function createCache(
  env: CacheEnv,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): Cache {
  void report; // nothing runs in the background: every failure reaches its caller
  const { store, codec, maxValueBytes } = env;

  const closedError = (operation: string): ContextClosedError =>
    new ContextClosedError(
      `Plugin "${scope.pluginId}" has stopped; ${operation} is no longer possible.`,
      { details: { pluginId: scope.pluginId, operation } },
    );
  /** Run `fn` unless the plugin stopped; a throw becomes a rejection. */
  const guarded = <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      if (scope.closed) throw closedError(operation);
      return fn();
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const decode = <T>(bytes: Uint8Array): T => codec.decode(bytes) as T;
  /** After a write of `key` resolved: this node's local tiers drop it (read your writes). */
  const wrote = <T>(key: string, result: T): T => {
    invalidateOwnWrite(store, key);
    return result;
  };

  const getEntry = <T>(key: string): Promise<CacheEntry<T> | undefined> =>
    guarded('reading the cache', () => {
      assertKey(key);
      scope.guard?.assert('cache', 'read', key);
      return store
        .get(key)
        .then((found) =>
          found === undefined
            ? undefined
            : { value: decode<T>(found.value), version: found.version },
        );
    });

  const setIfVersion = (
    key: string,
    value: unknown,
    version: string | null,
    options?: CacheSetOptions,
  ): Promise<boolean> =>
    guarded('writing the cache', () => {
      assertKey(key);
      scope.guard?.assert('cache', 'write', key);
      if (version !== null && (typeof version !== 'string' || version === ''))
        throw new ValidationError(
          'setIfVersion takes a version from getEntry(), or null for "only if absent".',
          { details: { field: 'version' } },
        );
      const ttl = optionalTtlMs(options);
      const bytes = encodeValue(codec, key, value, maxValueBytes);
      return store
        .setIfVersion(key, bytes, version, ttl)
        .then((stored) => stored !== undefined && wrote(key, true));
    });

  const update = <T>(
    key: string,
    fn: (current: T | undefined) => T | Promise<T>,
    options: CacheUpdateOptions = {},
  ): Promise<T> =>
    guarded('updating the cache', async () => {
      assertKey(key);
      // update reads, then writes: both.
      scope.guard?.assert('cache', 'read', key);
      scope.guard?.assert('cache', 'write', key);
      if (typeof fn !== 'function')
        throw new ValidationError('cache.update takes a function (current) => next.', {
          details: { field: 'fn' },
        });
      const ttl = optionalTtlMs(options);
      const maxAttempts = attempts(options.maxAttempts);
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const found = await store.get(key);
        const next = await fn(found === undefined ? undefined : decode<T>(found.value));
        const bytes = encodeValue(codec, key, next, maxValueBytes);
        if ((await store.setIfVersion(key, bytes, found?.version ?? null, ttl)) !== undefined)
          return wrote(key, next);
      }
      throw new CacheConflictError(
        `cache.update("${key}") lost to other writers ${maxAttempts} times in a row; retry later, raise maxAttempts, or use a lock.`,
        { details: { key, maxAttempts } },
      );
    });

  // get and set are the hot calls: no closure per call beyond the write's own invalidation.
  const decodeFound = (found: CacheRecord | undefined): unknown =>
    found === undefined ? undefined : codec.decode(found.value);
  return {
    set: (key, value, options) => {
      let written: Promise<string>;
      try {
        if (scope.closed) throw closedError('writing the cache');
        assertKey(key);
        scope.guard?.assert('cache', 'write', key);
        const ttl = optionalTtlMs(options);
        written = store.set(key, encodeValue(codec, key, value, maxValueBytes), ttl);
      } catch (error) {
        return Promise.reject(error);
      }
      return written.then(() => wrote(key, undefined));
    },
    get: <T>(key: string) => {
      try {
        if (scope.closed) throw closedError('reading the cache');
        assertKey(key);
        scope.guard?.assert('cache', 'read', key);
      } catch (error) {
        return Promise.reject(error);
      }
      const metrics = env.metrics;
      if (metrics === undefined) return store.get(key).then(decodeFound) as Promise<T | undefined>;
      return store.get(key).then((found) => {
        metrics.cacheRead(found !== undefined);
        return decodeFound(found);
      }) as Promise<T | undefined>;
    },
    delete: (key) =>
      guarded('deleting from the cache', () => {
        assertKey(key);
        scope.guard?.assert('cache', 'write', key);
        return store.delete(key).then((existed) => wrote(key, existed));
      }),
    has: (key) =>
      guarded('reading the cache', () => {
        assertKey(key);
        scope.guard?.assert('cache', 'read', key);
        return store.has(key);
      }),
    expire: (key, ttlSeconds) =>
      guarded('setting a cache TTL', () => {
        assertKey(key);
        scope.guard?.assert('cache', 'write', key);
        return store
          .expire(key, ttlMs(ttlSeconds, 'ttlSeconds'))
          .then((existed) => wrote(key, existed));
      }),
    multi: () => new CacheBatch({ store, codec, maxValueBytes, guarded, guard: scope.guard }),
    getEntry,
    setIfVersion,
    update,
    local: (options) => {
      scope.assertOpen('creating a local cache tier');
      return createLocalTier(env, scope, options);
    },
    tiered: (options) => {
      scope.assertOpen('creating a tiered cache');
      return createTieredCache(env, scope, options);
    },
  };
}
