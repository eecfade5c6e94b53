import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { validateCacheTtlMs } from '../cache-ttl.js';
import type {
  CacheInvalidation,
  CacheOp,
  CacheOpResult,
  CacheRecord,
  CacheStore,
  PortSubscription,
} from '../ports.js';
import type { CommandCaller } from './connection.js';
import { closedError } from './closed.js';
import { setFrame } from './framed-command.js';
import { assertOneSlot } from './key-slots.js';
import { HeldWrites } from './held-writes.js';
import { RedisCacheTracking } from './redis-cache-tracking.js';
import { evalScript, rawCommand } from './scripts.js';
import type { RedisStoreDeps } from './store-deps.js';

/** Bytes of the version at the head of every stored entry. */
export const CACHE_VERSION_BYTES = 16;
/** What {@link VersionSource} hands out: 8 base64url characters, then 8 base-36 digits. */
const VERSION_SHAPE = /^[\w-]{8}[0-9a-z]{8}$/;
/** Versions counted by one prefix before a new random prefix is drawn (36⁸). */
const COUNTER_LIMIT = 36 ** 8;

export interface RedisCacheStoreOptions {
  /**
   * The backend runs against a Redis Cluster: an `exec` over keys of several slots is refused
   * with `CrossSlotError`. No Cluster mode exists yet; standalone Redis runs any `exec`.
   */
  cluster?: boolean;
}

/**
 * The cache port over Redis. An entry is one STRING `ns:c:<key>` holding a 16-byte version and
 * then the codec's bytes, so `get` and `set` stay one plain GET or SET (no script, no hash):
 * the version is drawn here, unique per write across the cluster (a random prefix per process
 * and a counter), and compare-and-set is one script that compares it. `exec` is one script
 * (atomic, in order); the load right of a key is `SET NX PX` with an owner and an owner-checked
 * release. Invalidations come from {@link RedisCacheTracking} (server-assisted tracking).
 * Values written count against the backend's byte budget until Redis answers.
 */
export class RedisCacheStore implements CacheStore {
  private readonly tracking: RedisCacheTracking;
  private readonly versions = new VersionSource();
  /** Writes of values, held against the byte budget until Redis answers. */
  private readonly held: HeldWrites;
  private closed = false;

  constructor(
    private readonly deps: RedisStoreDeps,
    private readonly options: RedisCacheStoreOptions = {},
  ) {
    this.tracking = new RedisCacheTracking(deps, deps.keys.cachePrefix);
    this.held = new HeldWrites(deps.runner, deps.budget);
  }

  get(key: string): Promise<CacheRecord | undefined> {
    let name: string;
    try {
      name = this.name(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.deps.runner
      .send('read a shared cache entry', 'get', [name])
      .then((reply) => this.record(reply, name));
  }

  set(key: string, value: Uint8Array, ttlMs?: number): Promise<string> {
    const what = 'write a shared cache entry';
    let version: string;
    let frame: Buffer;
    let release: () => void;
    try {
      const name = this.name(key);
      if (ttlMs !== undefined) validateCacheTtlMs(ttlMs);
      version = this.versions.next();
      // The whole SET in one buffer: the entry is never assembled on its own.
      frame = setFrame(name, version, value, ttlMs);
      // Held until Redis answers or the connection drops (see write).
      release = this.deps.budget.take(frame.length, what);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.deps.runner.send(what, 'set', frame, release, version) as Promise<string>;
  }

  setIfVersion(
    key: string,
    value: Uint8Array,
    expected: string | null,
    ttlMs?: number,
  ): Promise<string | undefined> {
    return guard(() => this.compareAndSet(key, value, expected, ttlMs));
  }

  private compareAndSet(
    key: string,
    value: Uint8Array,
    expected: string | null,
    ttlMs: number | undefined,
  ): Promise<string | undefined> {
    const name = this.name(key);
    if (ttlMs !== undefined) validateCacheTtlMs(ttlMs);
    // A string no store hands out cannot match (nor match a prefix of an entry's bytes).
    if (expected !== null && !VERSION_SHAPE.test(expected)) return Promise.resolve(undefined);
    const version = this.versions.next();
    const entry = stored(version, value);
    const script = this.deps.scripts.cacheSetIfVersion;
    return this.write('compare-and-set a shared cache entry', entry.length, (client, caller) =>
      evalScript(client, script, [name], [expected ?? '', entry, ttlMs ?? 0], caller),
    ).then((done) => (done === 1 ? version : undefined));
  }

  delete(key: string): Promise<boolean> {
    return this.yesNo('delete a shared cache entry', key, 'del');
  }

  has(key: string): Promise<boolean> {
    return this.yesNo('look up a shared cache entry', key, 'exists');
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    return this.yesNo('set the TTL of a shared cache entry', key, 'pexpire', ttlMs);
  }

  async exec(ops: readonly CacheOp[]): Promise<CacheOpResult[]> {
    this.assertOpen();
    if (ops.length === 0) return [];
    const keys: string[] = [];
    const args: Array<string | Buffer | number> = [];
    const versions: Array<string | undefined> = [];
    let bytes = 0;
    for (const op of ops) {
      keys.push(this.deps.keys.cacheKey(op.key));
      if (op.op === 'set') {
        if (op.ttlMs !== undefined) validateCacheTtlMs(op.ttlMs);
        const version = this.versions.next();
        const entry = stored(version, op.value);
        bytes += entry.length;
        versions.push(version);
        args.push('s', entry, op.ttlMs ?? 0);
      } else {
        if (op.op === 'expire') validateCacheTtlMs(op.ttlMs);
        versions.push(undefined);
        args.push(
          op.op === 'get' ? 'g' : op.op === 'delete' ? 'd' : 'e',
          '',
          op.op === 'expire' ? op.ttlMs : '',
        );
      }
    }
    if (this.options.cluster === true) assertOneSlot(keys, 'apply a cache multi()');
    const script = this.deps.scripts.cacheExec;
    const replies = (await this.write('apply a cache multi()', bytes, (client, caller) =>
      evalScript(client, script, keys, args, caller),
    )) as Array<Buffer | number | null>;
    return ops.map((op, i): CacheOpResult => {
      const reply = replies[i];
      switch (op.op) {
        case 'get':
          return this.record(reply, keys[i]!);
        case 'set':
          return versions[i];
        default:
          return reply === 1;
      }
    });
  }

  watchInvalidations(
    listener: (invalidation: CacheInvalidation) => void,
  ): Promise<PortSubscription> {
    return guard(() => {
      this.assertOpen();
      return this.tracking.watch(listener);
    });
  }

  claimLoad(key: string, owner: string, leaseMs: number): Promise<boolean> {
    return guard(() => {
      this.assertOpen();
      validateCacheTtlMs(leaseMs, 'leaseMs');
      const name = this.deps.keys.cacheLoadKey(key);
      return this.deps.runner
        .run('claim the load of a shared cache entry', (client) =>
          rawCommand(client, 'set', [name, owner, 'NX', 'PX', leaseMs]),
        )
        .then((reply) => reply !== null);
    });
  }

  releaseLoad(key: string, owner: string): Promise<void> {
    return guard(() => {
      this.assertOpen();
      const script = this.deps.scripts.cacheReleaseLoad;
      const name = this.deps.keys.cacheLoadKey(key);
      return this.deps.runner
        .run('release the load of a shared cache entry', (client, caller) =>
          evalScript(client, script, [name], [owner], caller),
        )
        .then(() => {});
    });
  }

  close(): void {
    this.closed = true;
    this.tracking.close();
  }

  /** One command on `key` answering 1 (yes) or 0; `ttlMs`, when given, is its argument. */
  private yesNo(what: string, key: string, command: string, ttlMs?: number): Promise<boolean> {
    return guard(() => {
      const name = this.name(key);
      if (ttlMs !== undefined) validateCacheTtlMs(ttlMs);
      const args = ttlMs === undefined ? [name] : [name, ttlMs];
      return this.deps.runner
        .run(what, (client) => rawCommand(client, command, args))
        .then((n) => n === 1);
    });
  }

  /** The Redis key of `key`, or a throw when closed (the runner would refuse too, less clearly). */
  private name(key: string): string {
    this.assertOpen();
    return this.deps.keys.cacheKey(key);
  }

  /** A stored entry as a record; a value too short to hold a version is foreign: a miss. */
  private record(reply: unknown, name: string): CacheRecord | undefined {
    if (reply === null || reply === undefined) return undefined;
    const entry = reply as Buffer;
    if (entry.length < CACHE_VERSION_BYTES) {
      this.deps.faults.record('malformedCacheValue', { key: name });
      return undefined;
    }
    return new StoredRecord(entry);
  }

  /**
   * A command carrying `bytes` of values: they are held against the backend's byte budget until
   * Redis answers (or the connection drops), not until the caller gives up, since a frozen
   * Redis keeps them in this process.
   */
  private write<T>(
    what: string,
    bytes: number,
    command: (client: Redis, caller: CommandCaller) => Promise<T>,
  ): Promise<T> {
    try {
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.held.run(what, bytes, command);
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

/**
 * Versions unique per write across the cluster without a round trip: 8 random base64url
 * characters per process (48 bits, drawn again every 36⁸ writes) and a base-36 counter.
 */
class VersionSource {
  private prefix = randomPrefix();
  private counter = 0;

  next(): string {
    if (this.counter === COUNTER_LIMIT) {
      this.prefix = randomPrefix();
      this.counter = 0;
    }
    return this.prefix + (this.counter++).toString(36).padStart(8, '0');
  }
}

/** An entry read back; its version is read from the entry only when asked (get needs none). */
class StoredRecord implements CacheRecord {
  readonly value: Buffer;

  constructor(private readonly entry: Buffer) {
    this.value = entry.subarray(CACHE_VERSION_BYTES);
  }

  get version(): string {
    return this.entry.toString('latin1', 0, CACHE_VERSION_BYTES);
  }
}

/** `work()`, with a synchronous throw (bad input, closed) turned into a rejection. */
function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error);
  }
}

function randomPrefix(): string {
  return randomBytes(6).toString('base64url');
}

/** The stored entry: the version's 16 ASCII bytes, then the value. */
function stored(version: string, value: Uint8Array): Buffer {
  const entry = Buffer.allocUnsafe(CACHE_VERSION_BYTES + value.byteLength);
  entry.write(version, 0, 'latin1');
  entry.set(value, CACHE_VERSION_BYTES);
  return entry;
}
