import type { Logger } from 'pino';
import type { LockStore, PortSubscription } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { PluginScope } from '../context/plugin-scope.js';
import { isPlugboardError, LockTimeoutError } from '../errors/errors.js';
import type { Deadlines } from '../util/deadlines.js';
import { createIdGenerator } from '../util/ids.js';
import { HeldLock, type HeldLockEnv } from './held-lock.js';
import type { HeldLocks } from './held-locks.js';
import { lockRequest, type LockRequest } from './lock-options.js';
import type { Lock, LockService } from './types.js';
import type { HostMetrics } from '../metrics/host-metrics.js';

/** Pause before trying again after the backend failed an attempt (it is reconnecting), ms. */
const BACKEND_RETRY_MS = 100;

/** What the runtime gives the block (one per host). */
export interface LockEnv {
  store: LockStore;
  codec: Codec;
  logger: Logger;
  deadlines: Deadlines;
  nodeId: string;
  /** Locks held on this node, across plugins (read by the dashboard). */
  held?: HeldLocks;
  /** Times waits and holds (none: no metrics). */
  metrics?: HostMetrics;
}

/** `context.lock` for one plugin. */
export function createLockService(
  env: LockEnv,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): LockService {
  const held: HeldLockEnv = {
    store: env.store,
    scope,
    report,
    metrics: env.metrics,
    ...(env.held === undefined ? {} : { table: env.held }),
  };
  // Owner ids: the node id (unique in the cluster) and a random prefix plus a counter.
  const nextOwner = createIdGenerator();
  return Object.freeze({
    acquire: async (resource: string, options?: Parameters<LockService['acquire']>[1]) => {
      const request = lockRequest(resource, options, true);
      scope.assertOpen(`lock.acquire("${request.resource}")`);
      scope.guard?.assert('lock', 'acquire', request.resource);
      const waiter = new Waiter(env, held, request, nextOwner());
      const metrics = env.metrics;
      if (metrics === undefined) return waiter.run();
      const started = performance.now();
      try {
        const lock = await waiter.run();
        metrics.lockWaited((performance.now() - started) / 1000, true);
        return lock;
      } catch (error) {
        if (error instanceof LockTimeoutError)
          metrics.lockWaited((performance.now() - started) / 1000, false);
        throw error;
      }
    },
    tryAcquire: async (resource: string, options?: Parameters<LockService['tryAcquire']>[1]) => {
      const request = lockRequest(resource, options, false);
      scope.assertOpen(`lock.tryAcquire("${request.resource}")`);
      scope.guard?.assert('lock', 'acquire', request.resource);
      return new Waiter(env, held, request, nextOwner()).attempt();
    },
  });
}

/**
 * One acquire: attempts until granted, each renewing the waiter's place in the resource's line.
 * Between attempts it sleeps until the resource's wake-up (a release), or
 * `min(retryInterval, the holder's remaining TTL)` should a wake-up be lost, bounded by
 * `waitTimeout` and the plugin's stop.
 */
class Waiter {
  private readonly owner: string;
  private notified = false;
  private wake: (() => void) | undefined;
  /** Set while sleeping: end the sleep within `ms` (the new holder's TTL) if it would be later. */
  private shorten: ((ms: number) => void) | undefined;
  /**
   * When the newest holder's TTL (told by a grant from the line) ends, monotonic ms. A hint that
   * arrives while an attempt is in flight is kept for the sleep after it (the attempt's answer
   * may predate that grant).
   */
  private holderEndsAt = Infinity;

  constructor(
    private readonly env: LockEnv,
    private readonly held: HeldLockEnv,
    private readonly request: LockRequest,
    id: string,
  ) {
    this.owner = `${env.nodeId}:${id}`;
  }

  /** One attempt (no line): the lock, or null when busy. */
  async attempt(): Promise<Lock | null> {
    const outcome = await this.try();
    return typeof outcome === 'number' ? null : outcome;
  }

  async run(): Promise<Lock> {
    const { resource, waitTimeout, retryInterval, lineMs } = this.request;
    const deadline = performance.now() + waitTimeout;
    const stop = this.held.scope.controller.signal;
    let watch: Promise<PortSubscription> | undefined;
    let watchFailed = false;
    try {
      for (;;) {
        // A node that already listens to the resource (it was contended lately) watches before
        // the attempt: a release after it is heard, so a refusal needs no second attempt.
        if (watch === undefined && this.env.store.listening?.(resource) === true) {
          watch = this.watch(resource);
          watch.catch(() => {
            watchFailed = true;
          });
        }
        this.notified = false;
        this.holderEndsAt = Infinity;
        let outcome: HeldLock | number;
        try {
          outcome = await this.try();
        } catch (error) {
          // The backend is away (a dropped connection, a restart): keep waiting, within the bound.
          if (!isPlugboardError(error) || !error.retryable || stop.aborted) throw error;
          const left = deadline - performance.now();
          if (left <= 0) throw error;
          await this.sleep(Math.min(retryInterval, left, BACKEND_RETRY_MS), stop);
          continue;
        }
        if (typeof outcome !== 'number') return outcome;
        const left = deadline - performance.now();
        if (left <= 0) throw this.timedOut();
        if (stop.aborted) throw stop.reason;
        if (watch === undefined && !watchFailed) {
          watch = this.watch(resource);
          // Without wake-ups the waiter still re-checks every retryInterval.
          await watch.catch(() => {
            watchFailed = true;
          });
          // Try again at once: a release before the subscription took effect was not heard.
          continue;
        }
        if (this.notified) continue;
        const hinted = Math.max(1, Math.ceil(this.holderEndsAt - performance.now()));
        await this.sleep(Math.min(retryInterval, outcome, left, hinted), stop);
      }
    } catch (error) {
      if (lineMs > 0)
        this.env.store.leave(resource, this.owner).catch((e: unknown) => {
          this.env.logger.debug({ err: e, resource }, 'could not leave a lock line');
        });
      throw error;
    } finally {
      watch
        ?.then(
          (w) => w.close(),
          () => undefined,
        )
        .catch((e: unknown) => {
          this.env.logger.debug({ err: e, resource }, 'could not close a lock watch');
        });
    }
  }

  /** Listen for the resource's wake-ups (the listener is in place when this returns). */
  private watch(resource: string): Promise<PortSubscription> {
    const watching = this.env.store.watch(resource, (next, holderTtlMs) => {
      // Another waiter's turn: keep sleeping (the fallback re-check still runs).
      if (next !== undefined && next !== this.owner) return;
      // Granted to the one before us: not our turn yet, but its holder's TTL bounds the wait.
      if (holderTtlMs !== undefined) {
        this.holderEndsAt = Math.min(this.holderEndsAt, performance.now() + holderTtlMs);
        return this.shorten?.(holderTtlMs);
      }
      this.notified = true;
      this.wake?.();
    });
    watching.catch((error: unknown) => this.held.report('watch', error));
    return watching;
  }

  /** The lock, or how long the holder may keep it (ms). */
  private async try(): Promise<HeldLock | number> {
    const { resource, ttl, lineMs, autoExtend } = this.request;
    const sentAt = performance.now();
    const sentAtWall = Date.now();
    let attempt;
    try {
      attempt = await this.env.store.acquire(resource, this.owner, ttl, lineMs);
    } catch (error) {
      // The outcome is unknown: should it have been granted, give it back.
      this.release();
      throw error;
    }
    if (!attempt.granted) return attempt.holderTtlMs;
    const stop = this.held.scope.controller.signal;
    if (stop.aborted) {
      this.release();
      throw stop.reason;
    }
    const { fencingToken } = attempt;
    const grant = {
      resource,
      owner: this.owner,
      fencingToken,
      ttl,
      autoExtend,
      sentAt,
      sentAtWall,
    };
    return new HeldLock(this.held, grant);
  }

  private sleep(ms: number, stop: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        stop.removeEventListener('abort', aborted);
        this.wake = this.shorten = undefined;
      };
      const aborted = (): void => {
        done();
        reject(stop.reason as Error);
      };
      const wake = (): void => {
        done();
        resolve();
      };
      // Cleared on wake-up; it keeps the process alive only while someone waits (like a call).
      let timer = setTimeout(wake, ms);
      const endsAt = performance.now() + ms;
      this.wake = wake;
      this.shorten = (shorter) => {
        if (performance.now() + shorter >= endsAt) return;
        clearTimeout(timer);
        timer = setTimeout(wake, shorter);
      };
      stop.addEventListener('abort', aborted, { once: true });
    });
  }

  private release(): void {
    this.env.store.release(this.request.resource, this.owner).catch(() => undefined);
  }

  private timedOut(): LockTimeoutError {
    const { resource, waitTimeout } = this.request;
    return new LockTimeoutError(
      `Could not acquire lock "${resource}" within ${waitTimeout} ms: another holder kept it.`,
      { details: { resource, waitTimeout } },
    );
  }
}
