import type { CacheOp, CacheRecord, CacheStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { ValidationError } from '../errors/errors.js';
import { assertKey, encodeValue, optionalTtlMs, ttlMs } from './cache-input.js';
import { invalidateOwnWrite } from './invalidation-hub.js';
import type { CacheMulti, CacheSetOptions } from './types.js';
import type { CapabilityGuard } from '../security/capabilities/guard.js';

/** What a batch needs from its cache. */
export interface MultiEnv {
  readonly store: CacheStore;
  readonly codec: Codec;
  readonly maxValueBytes: number;
  /** Rejects when the plugin stopped; runs the batch otherwise. */
  readonly guarded: <T>(operation: string, fn: () => Promise<T>) => Promise<T>;
  /** The plugin's capability guard (undefined: trusted); a denied op fails the batch. */
  readonly guard?: CapabilityGuard | undefined;
}

/**
 * `cache.multi()`: operations are checked and encoded as they are added; the first bad one is
 * remembered and `exec()` rejects with it, applying nothing, so the error arrives where the
 * batch's outcome is awaited, like every other cache error.
 */
export class CacheBatch implements CacheMulti {
  private readonly ops: CacheOp[] = [];
  private error: Error | undefined;
  private ran = false;

  constructor(private readonly env: MultiEnv) {}

  get length(): number {
    return this.ops.length;
  }

  set(key: string, value: unknown, options?: CacheSetOptions): CacheMulti {
    return this.add(() => {
      assertKey(key);
      this.env.guard?.assert('cache', 'write', key);
      const ttl = optionalTtlMs(options);
      const encoded = encodeValue(this.env.codec, key, value, this.env.maxValueBytes);
      return ttl === undefined
        ? { op: 'set', key, value: encoded }
        : { op: 'set', key, value: encoded, ttlMs: ttl };
    });
  }

  get(key: string): CacheMulti {
    return this.add(() => {
      assertKey(key);
      this.env.guard?.assert('cache', 'read', key);
      return { op: 'get', key };
    });
  }

  delete(key: string): CacheMulti {
    return this.add(() => {
      assertKey(key);
      this.env.guard?.assert('cache', 'write', key);
      return { op: 'delete', key };
    });
  }

  expire(key: string, ttlSeconds: number): CacheMulti {
    return this.add(() => {
      assertKey(key);
      this.env.guard?.assert('cache', 'write', key);
      return { op: 'expire', key, ttlMs: ttlMs(ttlSeconds, 'ttlSeconds') };
    });
  }

  exec(): Promise<unknown[]> {
    return this.env.guarded('running a cache multi()', async () => {
      if (this.ran)
        throw new ValidationError(
          'This cache multi() ran already; start a new one with cache.multi().',
          {
            details: { field: 'multi' },
          },
        );
      this.ran = true;
      if (this.error !== undefined) throw this.error;
      if (this.ops.length === 0) return [];
      const results = await this.env.store.exec(this.ops);
      const written = this.ops.filter((op) => op.op !== 'get').map((op) => op.key);
      if (written.length > 0) invalidateOwnWrite(this.env.store, written);
      return this.ops.map((op, i) => {
        if (op.op === 'get') {
          const found = results[i] as CacheRecord | undefined;
          return found === undefined ? undefined : this.env.codec.decode(found.value);
        }
        return op.op === 'set' ? true : results[i] === true;
      });
    });
  }

  private add(build: () => CacheOp): CacheMulti {
    if (this.error !== undefined) return this;
    try {
      this.ops.push(build());
    } catch (error) {
      this.error = error as Error;
    }
    return this;
  }
}
