import type { PluginScope } from '../context/plugin-scope.js';
import { ContextClosedError, TimeoutError, ValidationError } from '../errors/errors.js';
import { createIdGenerator } from '../util/ids.js';
import type { CacheEnv } from './cache.js';
import { hubFor, type InvalidationHub, type KeyWait } from './invalidation-hub.js';
import { openLocalTier, type LocalTier, type ReadMark } from './local-tier.js';
import { assertKey, encodeValue } from './cache-input.js';
import { checkMaxEntries, optionalSeconds } from './tier-options.js';
import type { LocalCache, TieredCache, TieredCacheOptions } from './tier-types.js';

const DEFAULT_LOCAL_TTL_MS = 60_000;
const DEFAULT_LEASE_MS = 10_000;
/** Longest pause between two looks of a node waiting for another node's load. */
const MAX_RECHECK_MS = 250;
/** Keys loading at once per tiered cache that share one load (past it, calls load alone). */
const MAX_FLIGHTS = 100_000;
/** Longest wait for a load's own write to come back as an invalidation before it is kept. */
const OWN_ECHO_WAIT_MS = 1000;

/**
 * `context.cache.tiered(options)`: local tier → shared tier → loader.
 * @throws ValidationError for a missing `load` or bad TTLs/sizes.
 */
export function createTieredCache<T>(
  env: CacheEnv,
  scope: PluginScope,
  options: TieredCacheOptions<T>,
): TieredCache<T> {
  if (typeof options?.load !== 'function')
    throw new ValidationError('cache.tiered() needs a load(key) function.', {
      details: { field: 'load' },
    });
  const ttlMs = optionalSeconds(options.ttl, 'ttl');
  const localTtlMs =
    optionalSeconds(options.localTtl, 'localTtl') ??
    Math.min(DEFAULT_LOCAL_TTL_MS, ttlMs ?? Infinity);
  const leaseMs = optionalSeconds(options.loadLease, 'loadLease') ?? DEFAULT_LEASE_MS;
  const maxEntries = checkMaxEntries(options.maxEntries);
  const local = openLocalTier<T>(env, scope, maxEntries, localTtlMs);
  const hub = hubFor(env.store, env.logger);
  return new Tiered(env, scope, hub, local, options.load, ttlMs, leaseMs);
}

const nextOwner = createIdGenerator();

/**
 * What a load ended with: a value another node stored meanwhile (`found`), our own write
 * (`stored`, with its version and a wait for its invalidation), or a value not stored because
 * the key was written meanwhile (`lost`: that value is newer and stays).
 */
type LoadOutcome<T> =
  | { kind: 'found'; value: T }
  | { kind: 'stored'; value: T; version: string; echo: KeyWait }
  | { kind: 'lost'; value: T };

class Tiered<T> implements TieredCache<T> {
  /** One load per key in this process at a time: later callers share it. */
  private readonly flights = new Map<string, { promise: Promise<T>; mark: ReadMark }>();
  /** Loaded values waiting to be kept locally (see keepOwnWrite). */
  private verifying = 0;
  readonly local: LocalCache<T>;

  constructor(
    private readonly env: CacheEnv,
    private readonly scope: PluginScope,
    private readonly hub: InvalidationHub,
    private readonly tier: LocalTier<T>,
    private readonly load: (key: string) => Promise<T> | T,
    private readonly ttlMs: number | undefined,
    private readonly leaseMs: number,
  ) {
    this.local = tier.view();
  }

  get(key: string): Promise<T> {
    const hit = this.tier.peek(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const flight = this.flights.get(key);
    // A flight whose key changed since it began (any node's write) may bring the value from
    // before: later callers start a fresh one instead.
    if (flight !== undefined && !this.tier.spoiled(flight.mark)) return flight.promise;
    try {
      this.assertOpen('reading the cache');
      assertKey(key);
      // A miss reads the shared tier and may store what the loader returns there.
      this.scope.guard?.assert('cache', 'read', key);
      this.scope.guard?.assert('cache', 'write', key);
    } catch (error) {
      return Promise.reject(error);
    }
    const mark = this.tier.beginRead(key);
    const started = this.fetch(key, mark);
    if (flight === undefined && this.flights.size >= MAX_FLIGHTS) return started;
    const entry = {
      promise: started.finally(() => {
        if (this.flights.get(key) === entry) this.flights.delete(key);
      }),
      mark,
    };
    this.flights.set(key, entry);
    return entry.promise;
  }

  async set(key: string, value: T): Promise<void> {
    this.assertOpen('writing the cache');
    assertKey(key);
    this.scope.guard?.assert('cache', 'write', key);
    await this.env.store.set(key, this.encode(key, value), this.ttlMs);
    // Other nodes hear it from the store; this node drops its copies (and spoils reads) now.
    this.hub.invalidateHere([key]);
  }

  async delete(key: string): Promise<boolean> {
    this.assertOpen('deleting from the cache');
    assertKey(key);
    this.scope.guard?.assert('cache', 'write', key);
    const existed = await this.env.store.delete(key);
    this.hub.invalidateHere([key]);
    return existed;
  }

  /**
   * Shared tier, else the right to load (claimed cluster-wide), else wait for the loading
   * node's value to land (its invalidation wakes us) and look again.
   */
  private async fetch(key: string, mark: ReadMark): Promise<T> {
    const { store } = this.env;
    let ended = false;
    const keep = (value: T): T => {
      ended = true;
      if (this.tier.endRead(key, mark)) this.tier.keep(key, value, undefined);
      return value;
    };
    const giveUp = Date.now() + 3 * this.leaseMs;
    try {
      for (;;) {
        // Wait registered before reading: a value landing right after the read still wakes us.
        const landed = this.hub.expect(key);
        try {
          const record = await store.get(key);
          if (record !== undefined) return keep(this.env.codec.decode(record.value) as T);
          const owner = `${this.env.nodeId}:${nextOwner()}`;
          if (await store.claimLoad(key, owner, this.leaseMs)) {
            const loaded = await this.loadAndStore(key, owner);
            if (loaded.kind === 'found') return keep(loaded.value);
            // Our own write spoils this read's mark when its invalidation comes back: it is
            // kept on a read of its own (keepOwnWrite). A lost write is not kept at all.
            ended = true;
            this.tier.endRead(key, mark);
            if (loaded.kind === 'stored') this.keepOwnWrite(key, loaded);
            return loaded.value;
          }
          const left = giveUp - Date.now();
          if (left <= 0)
            throw new TimeoutError(
              `Waited ${3 * this.leaseMs} ms for another node to load cache key "${key}".`,
              { details: { key, leaseMs: this.leaseMs } },
            );
          await landed.wait(Math.min(left, this.leaseMs, MAX_RECHECK_MS));
        } finally {
          landed.cancel();
        }
      }
    } finally {
      if (!ended) this.tier.endRead(key, mark);
    }
  }

  /**
   * Load `key` and store it only if the key is still absent: a value written meanwhile (by a
   * writer, or a node that loaded after this one's lease lapsed) is newer than what the loader
   * read, so it stays.
   */
  private async loadAndStore(key: string, owner: string): Promise<LoadOutcome<T>> {
    try {
      // The previous loader may have stored its value and given the claim back between our
      // read and our claim: use that value rather than load a second time.
      const landed = await this.env.store.get(key);
      if (landed !== undefined)
        return { kind: 'found', value: this.env.codec.decode(landed.value) as T };
      const value = await this.load(key);
      if (value === undefined)
        throw new ValidationError(
          `The loader returned undefined for cache key "${key}" (return null for "nothing there").`,
          { details: { key } },
        );
      const bytes = this.encode(key, value);
      const echo = this.hub.expect(key);
      let version: string | undefined;
      try {
        version = await this.env.store.setIfVersion(key, bytes, null, this.ttlMs);
      } catch (error) {
        echo.cancel();
        throw error;
      }
      if (version === undefined) {
        echo.cancel();
        return { kind: 'lost', value };
      }
      return { kind: 'stored', value, version, echo };
    } finally {
      this.env.store
        .releaseLoad(key, owner)
        .catch((error: unknown) =>
          this.env.logger.debug({ err: error, key }, 'could not release a cache load claim'),
        );
    }
  }

  /**
   * Keep what the loader wrote, in the background. The write's own invalidation comes back
   * like any other writer's (the store cannot tell them apart, and Redis may report two writes
   * of a key as one invalidation), so it spoils every read in flight: once it was heard, a read
   * begun after it fills the tier if the store still holds this write's version. Another
   * writer's invalidation during that read still spoils it, and a later version is not ours.
   */
  private keepOwnWrite(
    key: string,
    { value, version, echo }: { value: T; version: string; echo: KeyWait },
  ): void {
    if (this.verifying >= MAX_FLIGHTS) {
      echo.cancel();
      return;
    }
    this.verifying++;
    const verify = async (): Promise<void> => {
      await echo.wait(Math.min(this.leaseMs, OWN_ECHO_WAIT_MS));
      const mark = this.tier.beginRead(key);
      let current = false;
      try {
        current = (await this.env.store.get(key))?.version === version;
      } finally {
        if (this.tier.endRead(key, mark) && current) this.tier.keep(key, value, undefined);
      }
    };
    verify()
      .catch((error: unknown) =>
        this.env.logger.debug({ err: error, key }, 'could not keep a loaded cache value locally'),
      )
      .finally(() => this.verifying--);
  }

  close(): void {
    this.tier.close();
  }

  /** @throws ContextClosedError once the plugin stopped (as every `context.cache` call). */
  private assertOpen(operation: string): void {
    if (this.scope.closed)
      throw new ContextClosedError(
        `Plugin "${this.scope.pluginId}" has stopped; ${operation} is no longer possible.`,
        { details: { pluginId: this.scope.pluginId, operation } },
      );
  }

  private encode(key: string, value: T): Uint8Array {
    return encodeValue(this.env.codec, key, value, this.env.maxValueBytes);
  }
}
