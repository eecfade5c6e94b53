import type { Logger } from 'pino';
import type { CacheInvalidation, CacheStore, PortSubscription } from '../backends/ports.js';
import { TimeoutError } from '../errors/errors.js';

/** What the hub tells each local tier of the node. */
export interface TierMember {
  /** These shared keys changed: drop them (and spoil reads of them in flight). */
  evict(keys: readonly string[]): void;
  /** Anything may have changed: drop everything. */
  flush(): void;
}

/** A wait for one key's next invalidation (see {@link InvalidationHub.expect}). */
export interface KeyWait {
  /** Resolves on the key's invalidation, a flush, or after `timeoutMs`; never rejects. */
  wait(timeoutMs: number): Promise<void>;
  cancel(): void;
}

/** Subscription retries: doubling from the base, capped. */
const RETRY_BASE_MS = 50;
const RETRY_CAP_MS = 5000;
/** Waits on keys at most (past it, waiters only wake at their timeout). */
const MAX_KEY_WAITS = 100_000;

/**
 * One subscription to the store's invalidations per node, shared by every local tier on it
 * (reference-counted: opened by the first tier, closed with the last). Until the subscription
 * is live, and whenever the store says the channel was lost, tiers keep nothing.
 */
export class InvalidationHub {
  private readonly members = new Set<TierMember>();
  private readonly keyWaits = new Map<string, Set<() => void>>();
  private readonly liveWaiters = new Set<() => void>();
  private subscription: PortSubscription | undefined;
  /** Bumped when the last member leaves, so a late subscription of an older round is closed. */
  private round = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private isLive = false;

  constructor(
    private readonly store: CacheStore,
    private readonly logger: Logger,
  ) {}

  /** True while invalidations are heard: only then may local tiers keep values. */
  get live(): boolean {
    return this.isLive;
  }

  /** Add a tier; the returned function removes it (idempotent). */
  join(member: TierMember): () => void {
    this.members.add(member);
    if (this.members.size === 1) this.subscribe(this.round, 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.members.delete(member);
      if (this.members.size === 0) this.unsubscribe();
    };
  }

  /**
   * Drop `keys` from this node's tiers now (this node changed them: other nodes hear it from
   * the store, this one need not wait for its own invalidation to come back).
   */
  invalidateHere(keys: readonly string[]): void {
    this.apply({ kind: 'keys', keys });
  }

  /**
   * Resolves when invalidations are heard.
   * @throws TimeoutError after `timeoutMs`.
   */
  ready(timeoutMs: number): Promise<void> {
    if (this.isLive) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.liveWaiters.delete(done);
        reject(
          new TimeoutError(`The cache's invalidations were not heard within ${timeoutMs} ms.`, {
            details: { timeout: timeoutMs },
          }),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.liveWaiters.add(done);
    });
  }

  /** Start waiting for `key`'s next invalidation (register before reading, so none is missed). */
  expect(key: string): KeyWait {
    let waiters = this.keyWaits.get(key);
    const full = waiters === undefined && this.keyWaits.size >= MAX_KEY_WAITS;
    let wake: (() => void) | undefined;
    let fired = false;
    const entry = (): void => {
      fired = true;
      wake?.();
    };
    if (!full) {
      if (waiters === undefined) this.keyWaits.set(key, (waiters = new Set()));
      waiters.add(entry);
    }
    const cancel = (): void => {
      const set = this.keyWaits.get(key);
      if (set === undefined) return;
      set.delete(entry);
      if (set.size === 0) this.keyWaits.delete(key);
    };
    return {
      cancel,
      wait: (timeoutMs) =>
        fired
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                cancel();
                resolve();
              }, timeoutMs);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            }),
    };
  }

  private apply(invalidation: CacheInvalidation): void {
    if (invalidation.kind === 'all') {
      this.isLive = invalidation.lost !== true;
      for (const member of this.members) member.flush();
      this.wakeAllKeys();
      if (this.isLive) this.wakeLive();
      return;
    }
    const { keys } = invalidation;
    for (const member of this.members) member.evict(keys);
    if (this.keyWaits.size === 0) return;
    for (const key of keys) {
      const waiters = this.keyWaits.get(key);
      if (waiters === undefined) continue;
      this.keyWaits.delete(key);
      for (const wake of waiters) wake();
    }
  }

  private subscribe(round: number, attempt: number): void {
    this.store
      .watchInvalidations((invalidation) => {
        if (round === this.round) this.apply(invalidation);
      })
      .then(
        (subscription) => {
          if (round !== this.round) {
            void subscription.close();
            return;
          }
          this.subscription = subscription;
          // Tiers kept nothing so far; from now on they may. Reads begun before now may have
          // missed an invalidation: the flush spoils them.
          for (const member of this.members) member.flush();
          this.isLive = true;
          this.wakeLive();
        },
        (error: unknown) => {
          if (round !== this.round) return;
          const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 10));
          this.logger[attempt === 1 ? 'warn' : 'debug'](
            { err: error, attempt, retryInMs: delay },
            'Cannot hear cache invalidations; local tiers keep nothing until they can',
          );
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            if (round === this.round) this.subscribe(round, attempt + 1);
          }, delay);
          this.retryTimer.unref();
        },
      );
  }

  private unsubscribe(): void {
    this.round++;
    this.isLive = false;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    this.wakeAllKeys();
    subscription
      ?.close()
      .catch((error: unknown) =>
        this.logger.debug({ err: error }, 'closing the cache invalidation watch failed'),
      );
  }

  private wakeAllKeys(): void {
    if (this.keyWaits.size === 0) return;
    const all = [...this.keyWaits.values()];
    this.keyWaits.clear();
    for (const waiters of all) for (const wake of waiters) wake();
  }

  private wakeLive(): void {
    const waiters = [...this.liveWaiters];
    this.liveWaiters.clear();
    for (const wake of waiters) wake();
  }
}

const hubs = new WeakMap<CacheStore, InvalidationHub>();

/**
 * This node changed `keys` in `store`: drop them from its local tiers now, so its own next read
 * sees the write (other nodes hear it from the store). Nothing to do while no tier exists.
 */
export function invalidateOwnWrite(store: CacheStore, keys: readonly string[] | string): void {
  const hub = hubs.get(store);
  if (hub !== undefined) hub.invalidateHere(typeof keys === 'string' ? [keys] : keys);
}

/** The node's hub for `store` (one per store, made on first use). */
export function hubFor(store: CacheStore, logger: Logger): InvalidationHub {
  let hub = hubs.get(store);
  if (hub === undefined) hubs.set(store, (hub = new InvalidationHub(store, logger)));
  return hub;
}
