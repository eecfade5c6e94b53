import { LRUCache } from 'lru-cache';
import type { PluginScope } from '../context/plugin-scope.js';
import { ValidationError } from '../errors/errors.js';
import type { CacheEnv } from './cache.js';
import { hubFor, type InvalidationHub, type TierMember } from './invalidation-hub.js';
import { assertKey } from './cache-input.js';
import { checkMaxEntries, optionalSeconds } from './tier-options.js';
import type { LocalCache, LocalCacheOptions } from './tier-types.js';

/**
 * A read of the shared tier in flight for one key (from a local miss to the `set` that keeps
 * its result). An invalidation of the key, or a flush, in between spoils it: the value read
 * may predate the change, so the `set` is dropped.
 */
export interface ReadMark {
  /** Reads begun and not yet ended. */
  pending: number;
  stale: boolean;
  /** The tier's flush count when the first of them began. */
  readonly flushes: number;
  /** When the first began (performance.now()). */
  readonly since: number;
}

/**
 * A mark older than this no longer guards: shared reads are bounded below it (the Redis
 * backend's default operation timeout is 5 s), and a miss never followed by a `set` must not
 * hold the key's local fills back for long.
 */
const READ_WINDOW_MS = 10_000;
/** The lru-cache stores no null: null values are kept as this. */
const NULL = Symbol('null');
const DEFAULT_READY_TIMEOUT_MS = 10_000;

/** The local tier: an LRU with per-entry TTLs, evicted by the node's invalidation hub. */
export class LocalTier<T> implements LocalCache<T>, TierMember {
  private readonly lru: LRUCache<string, NonNullable<T> | typeof NULL>;
  private readonly reads = new Map<string, ReadMark>();
  private readonly maxReads: number;
  private flushes = 0;
  /** When a mark was last dropped for room (sets without a mark are refused for a while). */
  private droppedAt = -Infinity;
  private closed = false;
  private readonly leave: () => void;
  /** Set by the owner: forget this tier once closed (the plugin's scope). */
  onClose: (() => void) | undefined;

  constructor(
    private readonly hub: InvalidationHub,
    maxEntries: number,
    ttlMs: number | undefined,
  ) {
    this.lru = new LRUCache({ max: maxEntries, ...(ttlMs === undefined ? {} : { ttl: ttlMs }) });
    this.maxReads = Math.max(1024, Math.min(maxEntries, 100_000));
    this.leave = hub.join(this);
  }

  get size(): number {
    return this.lru.size;
  }

  get(key: string): T | undefined {
    const value = this.lru.get(key);
    if (value !== undefined) return (value === NULL ? null : value) as T;
    // Also while invalidations are not heard yet: going live flushes, which spoils this read.
    if (!this.closed) this.beginRead(key);
    return undefined;
  }

  has(key: string): boolean {
    return this.lru.has(key);
  }

  /** The value without noting a read on a miss (the tiered cache notes its own). */
  peek(key: string): T | undefined {
    const value = this.lru.get(key);
    return value === NULL ? (null as T) : value;
  }

  set(key: string, value: T, options?: { ttl?: number }): void {
    assertKey(key);
    if (value === undefined)
      throw new ValidationError(
        `Cannot cache undefined under "${key}": a miss reads as undefined. Store null, or delete the key.`,
        { details: { field: 'value', key } },
      );
    const ttlMs = optionalSeconds(options?.ttl, 'ttl');
    const mark = this.reads.get(key);
    if (mark === undefined ? this.recentlyDropped() : !this.endRead(key, mark)) return;
    this.keep(key, value, ttlMs);
  }

  delete(key: string): boolean {
    this.spoil(key);
    return this.lru.delete(key);
  }

  clear(): void {
    this.flush();
  }

  ready(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    return this.hub.ready(timeoutMs);
  }

  evict(keys: readonly string[]): void {
    for (const key of keys) {
      this.lru.delete(key);
      this.spoil(key);
    }
  }

  flush(): void {
    this.flushes++;
    this.lru.clear();
  }

  /**
   * Note that a read of the shared tier for `key` begins (the local tier missed). Returns the
   * mark to pass to {@link endRead}.
   */
  beginRead(key: string): ReadMark {
    const now = performance.now();
    const mark = this.reads.get(key);
    // A spoiled mark is not joined: this read begins after the change, its value may be kept.
    if (mark !== undefined && !this.spoiled(mark) && now - mark.since <= READ_WINDOW_MS) {
      mark.pending++;
      return mark;
    }
    if (mark === undefined && this.reads.size >= this.maxReads) {
      // Room for the new mark: drop the oldest (its read is then unguarded, see droppedAt).
      const oldest = this.reads.keys().next().value;
      if (oldest !== undefined) this.reads.delete(oldest);
      this.droppedAt = now;
    }
    const fresh: ReadMark = { pending: 1, stale: false, flushes: this.flushes, since: now };
    this.reads.delete(key); // re-insert: Map order is age order
    this.reads.set(key, fresh);
    return fresh;
  }

  /** Whether the key of `mark` changed (or the tier flushed) since its read began. */
  spoiled(mark: ReadMark): boolean {
    return mark.stale || mark.flushes !== this.flushes;
  }

  /** End a read begun with `mark`; true when its value may be kept (nothing spoiled it). */
  endRead(key: string, mark: ReadMark): boolean {
    const current = this.reads.get(key) === mark;
    if (current && --mark.pending <= 0) this.reads.delete(key);
    return (
      current &&
      !this.spoiled(mark) &&
      this.hub.live &&
      !this.closed &&
      performance.now() - mark.since <= READ_WINDOW_MS
    );
  }

  /** Keep a value whose read was checked (or that this node just wrote). */
  keep(key: string, value: T, ttlMs: number | undefined): void {
    if (this.closed || !this.hub.live) return;
    const stored = (value === null ? NULL : value) as NonNullable<T> | typeof NULL;
    if (ttlMs === undefined) this.lru.set(key, stored);
    else this.lru.set(key, stored, { ttl: ttlMs });
  }

  /**
   * This tier as the tiered cache shows it: `get` does not note a read (the tiered cache notes
   * its own), so sync reads in front of `tiered().get` never hold back its local fills.
   */
  view(): LocalCache<T> {
    const size = (): number => this.lru.size;
    return {
      get: (key) => this.peek(key),
      has: (key) => this.has(key),
      set: (key, value, options) => this.set(key, value, options),
      delete: (key) => this.delete(key),
      clear: () => this.clear(),
      ready: (timeoutMs) => this.ready(timeoutMs),
      close: () => this.close(),
      get size() {
        return size();
      },
    };
  }

  /** Stop for good: release the hub and keep nothing more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.leave();
    this.lru.clear();
    this.reads.clear();
    this.onClose?.();
  }

  private spoil(key: string): void {
    const mark = this.reads.get(key);
    if (mark !== undefined) mark.stale = true;
  }

  private recentlyDropped(): boolean {
    return performance.now() - this.droppedAt <= READ_WINDOW_MS || !this.hub.live || this.closed;
  }
}

/**
 * `context.cache.local(options)`: a local tier held by the plugin (released when it stops).
 * @throws ValidationError for a bad `maxEntries` or `ttl`.
 */
export function createLocalTier<T>(
  env: CacheEnv,
  scope: PluginScope,
  options: LocalCacheOptions = {},
): LocalCache<T> {
  if (typeof options !== 'object' || options === null)
    throw new ValidationError(
      'cache.local() takes an options object such as { maxEntries: 1000 }.',
      {
        details: { field: 'options' },
      },
    );
  return openLocalTier<T>(
    env,
    scope,
    checkMaxEntries(options.maxEntries),
    optionalSeconds(options.ttl, 'ttl'),
  );
}

/** A validated local tier, held by `scope` (Releasable kind `cacheTier`). */
export function openLocalTier<T>(
  env: CacheEnv,
  scope: PluginScope,
  maxEntries: number,
  ttlMs: number | undefined,
): LocalTier<T> {
  scope.assertOpen('cache.local()');
  const tier = new LocalTier<T>(hubFor(env.store, env.logger), maxEntries, ttlMs);
  const held = {
    kind: 'cacheTier' as const,
    release: () => tier.close(),
  };
  scope.hold(held);
  tier.onClose = () => scope.drop(held);
  return tier;
}
