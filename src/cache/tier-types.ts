/** Options of `context.cache.local(options)`. */
export interface LocalCacheOptions {
  /** Entries kept at most; the least recently used go first. Default 1000. */
  maxEntries?: number;
  /** Default time to live of an entry, seconds (fractions allowed). Default: none (LRU bound only). */
  ttl?: number;
}

/**
 * A bounded in-process tier (an LRU) in front of the shared cache. A key is dropped from every
 * node's local tiers whenever the shared key of the same name is written, deleted or expires,
 * by any node; a node that may have missed such news (its invalidation channel dropped)
 * flushes its local tiers and keeps nothing until it hears again.
 *
 * `get` and `set` are synchronous. Values are kept as given (not copied): treat them as
 * immutable. A `set` that follows a `get` miss is dropped if the key was invalidated in
 * between (its value may predate the change).
 * @example
 * const local = context.cache.local({ maxEntries: 10_000 });
 * let user = local.get(`user:${id}`);
 * if (user === undefined) {
 *   user = await context.cache.get(`user:${id}`);
 *   if (user !== undefined) local.set(`user:${id}`, user, { ttl: 60 });
 * }
 */
export interface LocalCache<T = unknown> {
  /**
   * The value, or `undefined` on a miss (never throws). A miss notes a read of the shared tier
   * (see `set`); to only look, use {@link has}.
   */
  get(key: string): T | undefined;
  /** Whether `key` is held (notes no read). */
  has(key: string): boolean;
  /**
   * Keep `value` under `key` (`ttl` seconds: this entry's own time to live).
   * @throws ValidationError for an invalid key, an `undefined` value or a bad `ttl`.
   */
  set(key: string, value: T, options?: { ttl?: number }): void;
  /** Drop `key` from this tier only; true if it was there. */
  delete(key: string): boolean;
  /** Drop every entry of this tier. */
  clear(): void;
  readonly size: number;
  /**
   * Resolves once this node hears invalidations (until then `set` keeps nothing).
   * @throws TimeoutError after `timeoutMs` (default 10000).
   */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Release this tier now (it stops hearing invalidations and keeps nothing more); otherwise it
   * lives until the plugin stops. Idempotent. A tier made per request must be closed.
   */
  close(): void;
}

/** Options of `context.cache.tiered(options)`. */
export interface TieredCacheOptions<T = unknown> {
  /**
   * Loads a value missing from both tiers (the database). Called for one key at most once at a
   * time across the cluster. Must not return `undefined` (a miss); `null` is a value. Its value
   * is stored only if the key is still missing (a value written meanwhile is newer and stays).
   */
  load: (key: string) => Promise<T> | T;
  /** Shared tier time to live, seconds. Default: none. */
  ttl?: number;
  /** Local tier time to live, seconds. Default: 60, or `ttl` when shorter. */
  localTtl?: number;
  /** Local tier size. Default 1000. */
  maxEntries?: number;
  /**
   * How long one node may load a key before another may try, seconds. Nodes waiting for that
   * load wake when the value lands (its invalidation) and look again at least every
   * `min(loadLease, 0.25)` s. Default 10.
   */
  loadLease?: number;
}

/**
 * The multi-level helper: local tier → shared tier → loader. A stampede of concurrent misses
 * on one key, on any number of nodes, calls the loader once; its error reaches every caller
 * waiting in that process and is not cached.
 * @example
 * const users = context.cache.tiered({ ttl: 3600, localTtl: 60, load: (key) => db.user(key) });
 * const user = await users.get(`user:${id}`);
 */
export interface TieredCache<T = unknown> {
  /** The value from the nearest tier that has it, else the loader's (then cached in both tiers). */
  get(key: string): Promise<T>;
  /** Write through to the shared tier (every node's local tier drops its copy). */
  set(key: string, value: T): Promise<void>;
  /** Delete from the shared tier; every node's local tier drops it. True if it existed. */
  delete(key: string): Promise<boolean>;
  /** The local tier in front (synchronous reads). */
  readonly local: LocalCache<T>;
  /**
   * Release the local tier now (later reads go to the shared tier and the loader only);
   * otherwise it lives until the plugin stops. Idempotent.
   */
  close(): void;
}
