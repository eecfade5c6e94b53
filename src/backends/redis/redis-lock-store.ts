import { ValidationError } from '../../errors/errors.js';
import type { LockAttempt, LockStore, LockWakeListener, PortSubscription } from '../ports.js';
import type { LockKeys } from './keys.js';
import { closedError } from './closed.js';
import { LockChannels } from './lock-channels.js';
import { sendScript, type ScriptName } from './scripts.js';
import type { RedisStoreDeps } from './store-deps.js';

/**
 * How long a resource's last fencing token outlives its lock, ms: long enough that a holder
 * that never came back is long gone; after it, Redis TIME alone exceeds every earlier token.
 */
export const FENCE_KEEP_MS = 24 * 60 * 60 * 1000;

/** Key names of this many resources are kept ready (a cache; the names are cheap to rebuild). */
const KEY_CACHE_SIZE = 1024;

/**
 * {@link LockStore} on Redis: one atomic script per transition over the keys of one resource
 * (all under the hash tag `{<ns>:l:<resource>}`, so one slot on a Cluster), wake-ups on a
 * per-resource channel through the backend's {@link SubscriptionHub}.
 */
export class RedisLockStore implements LockStore {
  private closed = false;
  private readonly keyCache = new Map<string, LockKeys>();
  /** Wake-up channels, kept subscribed a while after their last watcher (see LockChannels). */
  private readonly channels: LockChannels;

  /** Holders to tell after a reconnect (see {@link onReconnect}). */
  private readonly reconnectListeners = new Set<() => void>();

  constructor(readonly deps: RedisStoreDeps) {
    this.channels = new LockChannels(deps.hub, deps.logger);
    // The subscriber connection dropped: a wake-up may have been lost, so every watcher re-checks.
    deps.hub.onLost(() => this.channels.wakeAll());
    let wasReady = false;
    deps.runner.client.on('ready', () => {
      if (wasReady && !this.closed)
        for (const listener of [...this.reconnectListeners]) queueMicrotask(listener);
      wasReady = true;
    });
  }

  /**
   * Wake every waiter to try again: a wake-up may have been published while the subscriber could
   * not hear it (when the connection drops, and again once its resubscriptions are confirmed).
   */
  wakeWatchers(): void {
    this.channels.wakeAll();
  }

  onReconnect(listener: () => void): () => void {
    const entry = (): void => listener();
    this.reconnectListeners.add(entry);
    return () => {
      this.reconnectListeners.delete(entry);
    };
  }

  acquire(resource: string, owner: string, ttlMs: number, lineMs: number): Promise<LockAttempt> {
    const k = this.keysOrFailure(resource);
    if (k instanceof Promise) return k;
    return this.script('acquireLock', `acquire lock ${resource}`, 4, [
      k.owner,
      k.fence,
      k.line,
      k.lineDeadlines,
      owner,
      ttlMs,
      lineMs,
      FENCE_KEEP_MS,
      k.notify,
    ]).then(toAttempt);
  }

  leave(resource: string, owner: string): Promise<void> {
    const k = this.keysOrFailure(resource);
    if (k instanceof Promise) return k;
    return this.script('leaveLockLine', `leave the line of lock ${resource}`, 3, [
      k.line,
      k.lineDeadlines,
      k.owner,
      owner,
      k.notify,
    ]).then(nothing);
  }

  release(resource: string, owner: string): Promise<boolean> {
    const k = this.keysOrFailure(resource);
    if (k instanceof Promise) return k;
    return this.script('releaseLock', `release lock ${resource}`, 3, [
      k.owner,
      k.line,
      k.lineDeadlines,
      owner,
      k.notify,
    ]).then(isOne);
  }

  extend(resource: string, owner: string, ttlMs: number): Promise<boolean> {
    const k = this.keysOrFailure(resource);
    if (k instanceof Promise) return k;
    return this.script('extendLock', `extend lock ${resource}`, 2, [
      k.owner,
      k.fence,
      owner,
      ttlMs,
      FENCE_KEEP_MS,
    ]).then(isOne);
  }

  watch(resource: string, listener: LockWakeListener): Promise<PortSubscription> {
    // `n:<owner>` (a release: its turn) or `t:<ttl>:<owner>` (a grant from the line).
    return this.channels.watch(this.lockKeys(resource).notify, listener, decodeNext);
  }

  listening(resource: string): boolean {
    return this.channels.isLive(this.lockKeys(resource).notify);
  }

  /** Channels kept subscribed without a watcher (for tests). */
  get lingeringChannels(): number {
    return this.channels.lingering;
  }

  close(): void {
    this.closed = true;
    this.channels.close();
    this.reconnectListeners.clear();
  }

  /**
   * Run script `name` on its `nkeys` keys followed by its arguments (`keysAndArgs`, one array
   * built by the caller: the hot path allocates no other).
   */
  private script(
    name: ScriptName,
    what: string,
    nkeys: number,
    keysAndArgs: (string | number)[],
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(closedError());
    return sendScript(this.deps.runner, this.deps.scripts[name], what, nkeys, keysAndArgs);
  }

  /** The resource's keys, or a rejected promise for a resource that cannot be a lock. */
  private keysOrFailure(resource: string): LockKeys | Promise<never> {
    try {
      return this.lockKeys(resource);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private lockKeys(resource: string): LockKeys {
    let k = this.keyCache.get(resource);
    if (k !== undefined) return k;
    // A `{` or `}` would change the hash tag, and so the slot, of the resource's keys.
    if (resource === '' || /[{}]/.test(resource) || Buffer.byteLength(resource) > 1024) {
      throw new ValidationError(
        `A lock resource must be 1 to 1024 bytes without "{" or "}", got "${resource.slice(0, 64)}".`,
        { details: { field: 'resource' } },
      );
    }
    if (this.keyCache.size >= KEY_CACHE_SIZE) this.keyCache.clear();
    this.keyCache.set(resource, (k = this.deps.keys.lock(resource)));
    return k;
  }
}

function toAttempt(reply: unknown): LockAttempt {
  const [granted, value] = reply as [number, number];
  return granted === 1
    ? { granted: true, fencingToken: Number(value) }
    : { granted: false, holderTtlMs: Number(value) };
}

function isOne(reply: unknown): boolean {
  return reply === 1;
}

function nothing(): void {
  // The reply of a script that only acts.
}

function decodeNext(message: Buffer): Parameters<LockWakeListener> {
  const text = message.toString();
  if (text.startsWith('n:')) return [text.slice(2)];
  if (text.startsWith('t:')) {
    const colon = text.indexOf(':', 2);
    const ttl = Number(text.slice(2, colon));
    if (colon > 2 && Number.isFinite(ttl)) return [text.slice(colon + 1), ttl];
  }
  // Unknown: everyone re-checks (a wasted attempt at worst).
  return [];
}
