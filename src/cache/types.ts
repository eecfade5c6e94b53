import type {
  LocalCache,
  LocalCacheOptions,
  TieredCache,
  TieredCacheOptions,
} from './tier-types.js';

/** Host option `createHost({ cache: { ... } })`. */
export interface CacheOptions {
  /**
   * Largest encoded value `context.cache` stores, bytes; larger ones are refused with
   * `PayloadTooLargeError`. Default: the host's `limits.maxPayloadBytes` (1 MiB).
   */
  maxValueBytes?: number;
}

/** Options of a write. */
export interface CacheSetOptions {
  /** Time to live, seconds (fractions allowed, above 0). None: the entry does not expire. */
  ttl?: number;
}

/**
 * The version of an entry: opaque, different after every write of the key (by any node).
 * Compare-and-set ({@link Cache.setIfVersion}) stores only if the entry still has it.
 */
export type CacheVersion = string;

/** An entry with its version (see {@link Cache.getEntry}). */
export interface CacheEntry<T = unknown> {
  value: T;
  version: CacheVersion;
}

/** Options of {@link Cache.update}. */
export interface CacheUpdateOptions extends CacheSetOptions {
  /** Reads and compare-and-sets tried before `CacheConflictError`. Default 10. */
  maxAttempts?: number;
}

/**
 * A batch of operations applied atomically by `exec()` (nothing else runs in between; all or
 * none). Each method adds one operation and returns the batch; a bad argument is reported by
 * `exec()`, which then applies nothing.
 */
export interface CacheMulti {
  set(key: string, value: unknown, options?: CacheSetOptions): CacheMulti;
  get(key: string): CacheMulti;
  delete(key: string): CacheMulti;
  expire(key: string, ttlSeconds: number): CacheMulti;
  /** How many operations the batch holds. */
  readonly length: number;
  /**
   * Apply every operation, in order. Resolves with one result per operation: `get` the value
   * or `undefined`; `set` `true`; `delete` and `expire` whether the key existed. An empty batch
   * resolves `[]`. A batch runs once.
   */
  exec(): Promise<unknown[]>;
}

/**
 * `context.cache`: a cache shared by every plugin of every node of the cluster. Keys are 1 to
 * 1024 bytes without control characters or lone surrogates; values are anything the codec
 * carries except `undefined` (which is what a miss reads as). TTLs are in seconds.
 */
export interface Cache {
  /** Store `value` under `key` (replacing any value and TTL). */
  set(key: string, value: unknown, options?: CacheSetOptions): Promise<void>;
  /** The value (a decoded copy), or `undefined` on a miss. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Remove `key`; whether it existed. */
  delete(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** Give an existing key a new TTL, seconds; false when the key does not exist. */
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  /** A batch applied atomically by its `exec()`. */
  multi(): CacheMulti;
  /** The value with its version, for compare-and-set; `undefined` on a miss. */
  getEntry<T = unknown>(key: string): Promise<CacheEntry<T> | undefined>;
  /**
   * Store `value` only if the key still has `version` (`null`: only if the key does not exist).
   * Resolves `false`, writing nothing, when another write came first.
   */
  setIfVersion(
    key: string,
    value: unknown,
    version: CacheVersion | null,
    options?: CacheSetOptions,
  ): Promise<boolean>;
  /**
   * Read-modify-write without a lock: read the entry, call `fn` with its value (`undefined` on a
   * miss), store the result if nobody wrote the key meanwhile, else try again (up to
   * `maxAttempts`, then `CacheConflictError`). Resolves with the value stored. `ttl` applies to
   * the stored value (none: no expiry, as with `set`).
   */
  update<T>(
    key: string,
    fn: (current: T | undefined) => T | Promise<T>,
    options?: CacheUpdateOptions,
  ): Promise<T>;
  /** A bounded in-process tier of this plugin, dropped when any node changes a shared key. */
  local<T = unknown>(options?: LocalCacheOptions): LocalCache<T>;
  /** The multi-level helper: this node's local tier, then the shared cache, then `load`. */
  tiered<T = unknown>(options: TieredCacheOptions<T>): TieredCache<T>;
}
