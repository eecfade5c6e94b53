/** Public types of the cache's local tiers. BASE DRAFT: the cache-tiers helper owns this file. */
export interface LocalCacheOptions {
  /** Entries kept at most (least recently used evicted first). */
  maxEntries?: number;
  /** Default TTL of an entry, seconds. */
  ttl?: number;
}

/** A bounded in-process tier, evicted when any node writes or deletes the same shared key. */
export interface LocalCache<T = unknown> {
  get(key: string): T | undefined;
  set(key: string, value: T, options?: { ttl?: number }): void;
  delete(key: string): boolean;
  clear(): void;
  readonly size: number;
}

export interface TieredCacheOptions<T = unknown> {
  /** Loads a missing value (the database); called once per key at a time across the cluster. */
  load: (key: string) => Promise<T> | T;
  /** Shared tier TTL, seconds. */
  ttl?: number;
  /** Local tier TTL, seconds. */
  localTtl?: number;
  /** Local tier size. */
  maxEntries?: number;
}

/** The multi-level helper: local tier → shared tier → loader. */
export interface TieredCache<T = unknown> {
  get(key: string): Promise<T>;
  /** Delete from the shared tier; every node's local tier drops it. */
  delete(key: string): Promise<boolean>;
}
