import type { LockStore } from '../backends/ports.js';
import type { PluginScope, Releasable } from '../context/plugin-scope.js';
import { LockNotHeldError, ValidationError } from '../errors/errors.js';
import { settleWithin } from '../util/bound.js';
import { expiryClock, type ExpiryEntry } from './expiry-clock.js';
import type { HeldLocks } from './held-locks.js';
import { duration } from './lock-options.js';
import type { Lock } from './types.js';

/** What a held lock needs from its service. */
export interface HeldLockEnv {
  readonly store: LockStore;
  readonly scope: PluginScope;
  readonly report: (what: string, error: unknown) => void;
  /** The node's table of held locks (the dashboard reads it). */
  readonly table?: HeldLocks;
  /** Counts locks held and times each hold (none: no metrics). */
  readonly metrics?: { lockGranted(): void; lockEnded(heldSeconds: number): void };
}

/** The grant a {@link HeldLock} starts from. */
export interface Grant {
  readonly resource: string;
  readonly owner: string;
  readonly fencingToken: number;
  readonly ttl: number;
  readonly autoExtend: boolean;
  /** Monotonic (`performance.now()`) and wall clock, both read before the acquire request. */
  readonly sentAt: number;
  readonly sentAtWall: number;
}

type State = 'held' | 'released' | 'lost';

/**
 * A lock this plugin holds. It counts as lost (signal aborted, `onLost` listeners called) at
 * its local expiry unless extended first: the expiry is measured from clocks read before the
 * request that set it, so the backend's own expiry is never earlier. A stopping plugin releases
 * its held locks (each is held by its scope as a {@link Releasable}).
 */
export class HeldLock implements Lock {
  /** When the grant arrived (monotonic ms), for the hold-time metric. */
  private readonly grantedAt: number;
  readonly resource: string;
  readonly fencingToken: number;
  private readonly owner: string;
  private readonly ttl: number;
  /** Made on first use of `signal` (most locks are released without anyone reading it). */
  private controller: AbortController | undefined;
  private lostWith: Error | undefined;
  private readonly listeners = new Set<(error: Error) => void>();
  private state: State = 'held';
  private expiry: ExpiryEntry | undefined;
  private renewal: NodeJS.Timeout | undefined;
  private wallExpiry: number;
  /** Monotonic time of the local expiry. */
  private monotonicExpiry = 0;
  private readonly stopWatchingReconnects: (() => void) | undefined;
  /** What the plugin's scope releases as the plugin stops (see {@link releaseOnStop}). */
  private readonly held: Releasable = {
    kind: 'lock',
    release: (timeoutMs) => this.releaseOnStop(timeoutMs),
  };

  constructor(
    private readonly env: HeldLockEnv,
    grant: Grant,
  ) {
    this.resource = grant.resource;
    this.fencingToken = grant.fencingToken;
    this.owner = grant.owner;
    this.ttl = grant.ttl;
    this.wallExpiry = grant.sentAtWall + grant.ttl;
    this.armExpiry(grant.sentAt + grant.ttl);
    if (grant.autoExtend) this.scheduleRenewal();
    this.stopWatchingReconnects = env.store.onReconnect?.(() => this.verify());
    env.scope.hold(this.held);
    env.table?.add(this);
    this.grantedAt = performance.now();
    env.metrics?.lockGranted();
  }

  get pluginId(): string {
    return this.env.scope.pluginId;
  }

  get expiresAt(): number {
    return this.wallExpiry;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.lostWith !== undefined) this.controller.abort(this.lostWith);
    }
    return this.controller.signal;
  }

  onLost(listener: (error: Error) => void): () => void {
    if (typeof listener !== 'function')
      throw new ValidationError('lock.onLost(listener) takes a function.', {
        details: { resource: this.resource },
      });
    if (this.lostWith !== undefined) {
      const reason = this.lostWith;
      queueMicrotask(() => this.call(listener, reason));
      return () => undefined;
    }
    if (this.state === 'released') return () => undefined;
    const entry = (error: Error): void => listener(error);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  async release(): Promise<void> {
    if (this.state === 'released') return;
    if (this.state === 'lost') throw this.notHeld('release');
    this.finish('released');
    const released = await this.env.store.release(this.resource, this.owner);
    if (!released) {
      // The backend no longer had it (it lost its data, or the clocks disagreed).
      const error = this.notHeld('release');
      this.state = 'lost';
      this.announce(error);
      throw error;
    }
  }

  async extend(ttl?: number): Promise<void> {
    const ms = duration(ttl, 'ttl', this.ttl, 1);
    if (this.state !== 'held') throw this.notHeld('extend');
    await this.renew(ms, 'extend');
  }

  /**
   * The plugin stops: a handler of it may still be inside the critical section this lock guards,
   * so the lock is freed once the plugin's work in flight ended (within the stop's bound), not
   * under that handler's feet.
   */
  private async releaseOnStop(timeoutMs?: number): Promise<void> {
    if (this.state === 'held' && timeoutMs !== undefined)
      await settleWithin(this.env.scope.idle(), timeoutMs);
    if (this.state === 'held') await this.release();
  }

  /**
   * After a reconnect the server may have lost the lock (a restart without persistence): ask it,
   * keeping the expiry where it was (never later), and count the lock lost if it is gone.
   */
  private verify(): void {
    const left = Math.ceil(this.monotonicExpiry - performance.now());
    if (this.state !== 'held' || left < 1) return;
    this.renew(left, 'verify').catch((error: unknown) => {
      if (this.state === 'held') this.env.report('verify', error);
    });
  }

  private async renew(ms: number, what: 'extend' | 'autoExtend' | 'verify'): Promise<void> {
    const sentAt = performance.now();
    const sentAtWall = Date.now();
    const extended = await this.env.store.extend(this.resource, this.owner, ms);
    if (this.state !== 'held') {
      // Lost or released while the request was out: give the backend's copy back at once.
      if (extended) this.releaseQuietly();
      throw this.notHeld(what);
    }
    if (!extended) {
      const error = this.notHeld(what);
      this.lose(error);
      throw error;
    }
    this.wallExpiry = sentAtWall + ms;
    this.armExpiry(sentAt + ms);
  }

  private scheduleRenewal(): void {
    const every = Math.max(1, Math.floor(this.ttl / 3));
    this.renewal = setTimeout(() => {
      this.renewal = undefined;
      if (this.state !== 'held') return;
      this.renew(this.ttl, 'autoExtend').then(
        () => {
          if (this.state === 'held') this.scheduleRenewal();
        },
        (error: unknown) => {
          if (this.state !== 'held') return;
          // The backend is unreachable: keep trying until the expiry timer calls it lost.
          this.env.report('autoExtend', error);
          this.scheduleRenewal();
        },
      );
    }, every);
    this.renewal.unref();
  }

  private armExpiry(monotonicDeadline: number): void {
    this.expiry?.cancel();
    this.monotonicExpiry = monotonicDeadline;
    // One shared timer for all locks (most are released long before their expiry).
    this.expiry = expiryClock.schedule(monotonicDeadline, () => this.expired());
  }

  private expired(): void {
    this.expiry = undefined;
    this.lose(
      new LockNotHeldError(`Lock "${this.resource}" expired before it was extended.`, {
        details: { resource: this.resource, fencingToken: this.fencingToken },
      }),
    );
  }

  private lose(error: Error): void {
    if (this.state !== 'held') return;
    this.finish('lost');
    this.announce(error);
  }

  /** Abort the signal and call the `onLost` listeners, once. */
  private announce(error: Error): void {
    this.lostWith = error;
    this.controller?.abort(error);
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) this.call(listener, error);
  }

  private finish(state: State): void {
    if (this.state === 'held')
      this.env.metrics?.lockEnded((performance.now() - this.grantedAt) / 1000);
    this.state = state;
    this.expiry?.cancel();
    if (this.renewal !== undefined) clearTimeout(this.renewal);
    this.expiry = this.renewal = undefined;
    this.stopWatchingReconnects?.();
    this.env.scope.drop(this.held);
    this.env.table?.delete(this);
  }

  private call(listener: (error: Error) => void, error: Error): void {
    try {
      listener(error);
    } catch (thrown) {
      this.env.report('onLost', thrown);
    }
  }

  private releaseQuietly(): void {
    this.env.store.release(this.resource, this.owner).catch(() => undefined);
  }

  private notHeld(what: string): LockNotHeldError {
    return new LockNotHeldError(
      `Cannot ${what} lock "${this.resource}": it is no longer held (it expired or was lost).`,
      { details: { resource: this.resource, fencingToken: this.fencingToken } },
    );
  }
}
