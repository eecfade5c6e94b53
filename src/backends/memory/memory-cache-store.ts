import { PayloadTooLargeError, ValidationError } from '../../errors/errors.js';
import { validateCacheTtlMs } from '../cache-ttl.js';
import type {
  CacheInvalidation,
  CacheOp,
  CacheOpResult,
  CacheRecord,
  CacheStore,
  PortSubscription,
} from '../ports.js';
import { IndexedHeap, type HeapItem } from './indexed-heap.js';
import { closedError } from './closed.js';

/** Default bound of a memory network's shared cache, bytes (keys, values and bookkeeping). */
export const MEMORY_CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** What one entry costs besides its key and value (map slot, record, heap slot), roughly. */
const ENTRY_OVERHEAD = 96;
/** Load leases are swept for lapsed ones once there are this many. */
const LOAD_SWEEP_AT = 1024;
/** Longest delay of one expiry timer (setTimeout's limit); a later expiry re-arms it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry extends HeapItem {
  readonly key: string;
  readonly value: Uint8Array;
  readonly version: string;
  /** Epoch ms; Infinity: no expiry (then not in the expiry heap). */
  expiresAt: number;
  readonly bytes: number;
}

export interface MemoryCacheOptions {
  /** Bound on the bytes kept; least recently used entries are evicted past it. Default 64 MiB. */
  maxBytes?: number;
}

type Listener = (invalidation: CacheInvalidation) => void;

/**
 * The shared cache of every node of one in-process network (a server's worth): bounded in bytes
 * with least-recently-used eviction (as Redis with `maxmemory-policy allkeys-lru`), TTLs kept in
 * a heap with one timer for the earliest, so an expiry is announced when it lapses, not only
 * when someone reads the key. Every write, delete, expiry and eviction is announced to every
 * node's invalidation listeners, on a microtask, as a network would.
 */
export class MemoryCacheState {
  readonly maxBytes: number;
  /** Least recently used first (a Map keeps insertion order; a use re-inserts). */
  private readonly entries = new Map<string, Entry>();
  private readonly expiries = new IndexedHeap<Entry>((a, b) => a.expiresAt < b.expiresAt);
  private readonly loads = new Map<string, { owner: string; until: number }>();
  private readonly listeners = new Set<Listener>();
  private bytes = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(options: MemoryCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? MEMORY_CACHE_MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < 1024) {
      throw new ValidationError(
        `Memory cache option "maxBytes" must be an integer of at least 1024, got ${String(maxBytes)}.`,
        { details: { field: 'maxBytes' } },
      );
    }
    this.maxBytes = maxBytes;
  }

  /** Bytes held now (for tests and stats). */
  get heldBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Announce that `keys` changed (nothing when empty). */
  announce(keys: readonly string[]): void {
    if (keys.length === 0 || this.listeners.size === 0) return;
    const invalidation: CacheInvalidation = { kind: 'keys', keys };
    for (const listener of this.listeners) queueMicrotask(() => listener(invalidation));
  }

  /** The live entry of `key` (an expired one is dropped and announced in `changed`), made most recent. */
  read(key: string, now: number, changed: string[]): Entry | undefined {
    const entry = this.live(key, now, changed);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Whether `key` is live, without making it more recent (like EXISTS). */
  exists(key: string, now: number, changed: string[]): boolean {
    return this.live(key, now, changed) !== undefined;
  }

  /** Store `value` (copied); evicts least recently used entries past the bound. Returns the version. */
  write(
    key: string,
    value: Uint8Array,
    ttlMs: number | undefined,
    now: number,
    changed: string[],
  ): string {
    this.remove(key);
    const version = String(++this.seq);
    const entry: Entry = {
      key,
      value: value.slice(),
      version,
      expiresAt: ttlMs === undefined ? Infinity : now + ttlMs,
      bytes: value.byteLength + key.length * 2 + ENTRY_OVERHEAD,
      heapIndex: -1,
    };
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    if (entry.expiresAt !== Infinity) this.expiries.push(entry);
    changed.push(key);
    this.evict(entry, changed);
    this.arm();
    return version;
  }

  /** Delete `key`; whether a live entry was there. */
  drop(key: string, now: number, changed: string[]): boolean {
    const existed = this.live(key, now, changed) !== undefined;
    if (existed) {
      this.remove(key);
      changed.push(key);
    }
    return existed;
  }

  /** Give a live entry a new TTL; whether it existed. */
  setTtl(key: string, ttlMs: number, now: number, changed: string[]): boolean {
    const entry = this.live(key, now, changed);
    if (entry === undefined) return false;
    const had = entry.expiresAt !== Infinity;
    entry.expiresAt = now + ttlMs;
    if (had) this.expiries.update(entry);
    else this.expiries.push(entry);
    this.arm();
    // A new TTL is a change of the key, as Redis tracking reports it.
    changed.push(key);
    return true;
  }

  /** Take the load right of `key` for `owner` unless a live lease exists (as SET NX: even its own). */
  claim(key: string, owner: string, leaseMs: number, now: number): boolean {
    const held = this.loads.get(key);
    if (held !== undefined && held.until > now) return false;
    if (held === undefined && this.loads.size >= LOAD_SWEEP_AT) this.sweepLoads(now);
    this.loads.set(key, { owner, until: now + leaseMs });
    return true;
  }

  release(key: string, owner: string): void {
    if (this.loads.get(key)?.owner === owner) this.loads.delete(key);
  }

  /** The entry if it has not expired; an expired one is removed and its key added to `changed`. */
  private live(key: string, now: number, changed: string[]): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt > now) return entry;
    this.remove(key);
    changed.push(key);
    return undefined;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
    if (entry.heapIndex >= 0) this.expiries.remove(entry);
  }

  /**
   * Refuse a value the whole cache could not hold (it would evict every other entry and still
   * not fit): checked before anything changes.
   */
  assertFits(key: string, value: Uint8Array): void {
    const bytes = value.byteLength + key.length * 2 + ENTRY_OVERHEAD;
    if (bytes > this.maxBytes)
      throw new PayloadTooLargeError(
        `A cache value of ${bytes} bytes does not fit the embedded cache (${this.maxBytes} bytes in all); lower cache.maxValueBytes or raise the memory cache's maxBytes.`,
        { details: { key, bytes, maxBytes: this.maxBytes } },
      );
  }

  /** Evict least recently used entries (never `keep`) until the bytes fit. */
  private evict(keep: Entry, changed: string[]): void {
    if (this.bytes <= this.maxBytes) return;
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (entry === keep) continue;
      this.remove(key);
      changed.push(key);
    }
  }

  private sweepLoads(now: number): void {
    for (const [key, lease] of this.loads) if (lease.until <= now) this.loads.delete(key);
  }

  /** One timer for the earliest expiry; when it fires, lapsed entries go and are announced. */
  private arm(): void {
    const next = this.expiries.peek()?.expiresAt ?? Infinity;
    if (next >= this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => this.lapse(),
      Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())),
    );
    // Like a server's expiry cycle, it does not keep the process alive.
    this.timer.unref();
  }

  private lapse(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    const changed: string[] = [];
    for (
      let top = this.expiries.peek();
      top !== undefined && top.expiresAt <= now;
      top = this.expiries.peek()
    ) {
      this.remove(top.key);
      changed.push(top.key);
    }
    this.announce(changed);
    this.arm();
  }
}

/**
 * The cache port over a network's shared {@link MemoryCacheState}. Every operation runs
 * synchronously on the shared state (so `exec` is atomic: nothing runs in between) and resolves
 * on a promise, as a round trip would.
 */
export class MemoryCacheStore implements CacheStore {
  private closed = false;
  private readonly unlisten = new Set<() => void>();

  constructor(
    readonly nodeId: string,
    readonly state: MemoryCacheState,
  ) {}

  get(key: string): Promise<CacheRecord | undefined> {
    return this.run((now, changed) => record(this.state.read(key, now, changed)));
  }

  set(key: string, value: Uint8Array, ttlMs?: number): Promise<string> {
    return this.run((now, changed) => {
      if (ttlMs !== undefined) validateCacheTtlMs(ttlMs);
      this.state.assertFits(key, value);
      return this.state.write(key, value, ttlMs, now, changed);
    });
  }

  setIfVersion(
    key: string,
    value: Uint8Array,
    expected: string | null,
    ttlMs?: number,
  ): Promise<string | undefined> {
    return this.run((now, changed) => {
      if (ttlMs !== undefined) validateCacheTtlMs(ttlMs);
      this.state.assertFits(key, value);
      const current = this.state.read(key, now, changed);
      if ((current?.version ?? null) !== expected) return undefined;
      return this.state.write(key, value, ttlMs, now, changed);
    });
  }

  delete(key: string): Promise<boolean> {
    return this.run((now, changed) => this.state.drop(key, now, changed));
  }

  has(key: string): Promise<boolean> {
    return this.run((now, changed) => this.state.exists(key, now, changed));
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    return this.run((now, changed) => {
      validateCacheTtlMs(ttlMs);
      return this.state.setTtl(key, ttlMs, now, changed);
    });
  }

  exec(ops: readonly CacheOp[]): Promise<CacheOpResult[]> {
    return this.run((now, changed) => {
      // Checked before anything changes: a bad op applies nothing.
      for (const op of ops) {
        if (op.op === 'expire' || (op.op === 'set' && op.ttlMs !== undefined))
          validateCacheTtlMs(op.ttlMs!);
        if (op.op === 'set') this.state.assertFits(op.key, op.value);
      }
      return ops.map((op): CacheOpResult => {
        switch (op.op) {
          case 'get':
            return record(this.state.read(op.key, now, changed));
          case 'set':
            return this.state.write(op.key, op.value, op.ttlMs, now, changed);
          case 'delete':
            return this.state.drop(op.key, now, changed);
          case 'expire':
            return this.state.setTtl(op.key, op.ttlMs, now, changed);
        }
      });
    });
  }

  watchInvalidations(
    listener: (invalidation: CacheInvalidation) => void,
  ): Promise<PortSubscription> {
    if (this.closed) return Promise.reject(closedError());
    const stop = this.state.listen(listener);
    this.unlisten.add(stop);
    return Promise.resolve({
      close: () => {
        stop();
        this.unlisten.delete(stop);
        return Promise.resolve();
      },
    });
  }

  claimLoad(key: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.run(() => {
      validateCacheTtlMs(leaseMs, 'leaseMs');
      return this.state.claim(key, owner, leaseMs, Date.now());
    });
  }

  releaseLoad(key: string, owner: string): Promise<void> {
    return this.run(() => this.state.release(key, owner));
  }

  close(): void {
    this.closed = true;
    for (const stop of this.unlisten) stop();
    this.unlisten.clear();
  }

  /** Run `work` on the state now; announce what it changed; a throw becomes a rejection. */
  private run<T>(work: (now: number, changed: string[]) => T): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    const changed: string[] = [];
    try {
      return Promise.resolve(work(Date.now(), changed));
    } catch (error) {
      return Promise.reject(error);
    } finally {
      this.state.announce(changed);
    }
  }
}

function record(entry: Entry | undefined): CacheRecord | undefined {
  return entry === undefined ? undefined : { value: entry.value, version: entry.version };
}
