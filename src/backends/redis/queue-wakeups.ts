import type { Logger } from 'pino';
import type { SubscriptionHub } from './subscriptions.js';

/** Someone waiting in `claim` for work on one queue. */
export interface Waiter {
  notified: boolean;
  wake?: () => void;
}

/** The wake-up subscription of one queue, shared by every claim waiting on it. */
export interface QueueWatch {
  readonly queue: string;
  readonly waiters: Set<Waiter>;
  /** Resolves once the wake-up channel is subscribed. */
  readonly ready: Promise<void>;
  /** Removes the channel handler; set once subscribed. */
  unsubscribe?: () => Promise<void>;
  /** Pending close after the last waiter left. */
  idleTimer?: NodeJS.Timeout;
  closed: boolean;
}

/** How long a queue's wake-up subscription outlives its last waiting claim (a consumer loop claims again at once). */
export const QUEUE_WATCH_IDLE_MS = 1000;

/**
 * The wake-up channels of the queues that claims wait on: each channel is subscribed once
 * however many claims wait on it, while they wait (and `idleMs` longer, so a consumer loop does
 * not subscribe on every claim), never for the life of the process.
 */
export class QueueWakeups {
  private readonly watches = new Map<string, QueueWatch>();

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly logger: Logger,
    private readonly idleMs = QUEUE_WATCH_IDLE_MS,
  ) {}

  /** Queues whose wake-up channel is subscribed (or being subscribed) now. */
  get watchedQueues(): string[] {
    return [...this.watches.keys()];
  }

  /** Add `waiter` to the queue's watch, subscribing its wake-up `channel` if nobody else does. */
  join(queue: string, channel: string, waiter: Waiter): QueueWatch {
    let watch = this.watches.get(queue);
    if (watch === undefined) {
      const waiters = new Set<Waiter>();
      const created: QueueWatch = {
        queue,
        waiters,
        closed: false,
        ready: this.hub
          .add(channel, () => {
            for (const w of waiters) {
              w.notified = true;
              w.wake?.();
            }
          })
          .then(
            (unsubscribe) => {
              created.unsubscribe = unsubscribe;
              // Closed while subscribing (idle, or the store closed): undo at once.
              if (created.closed) this.unsubscribe(created);
            },
            (error: unknown) => {
              // A failed subscribe is retried by the next claim.
              this.forget(queue, created);
              throw error;
            },
          ),
      };
      created.ready.catch(() => undefined);
      this.watches.set(queue, (watch = created));
    }
    clearTimeout(watch.idleTimer);
    watch.idleTimer = undefined;
    watch.waiters.add(waiter);
    return watch;
  }

  /** `waiter` is done: once nobody waits for a while, unsubscribe. */
  leave(queue: string, watch: QueueWatch, waiter: Waiter): void {
    watch.waiters.delete(waiter);
    if (watch.waiters.size > 0 || watch.closed || this.watches.get(queue) !== watch) return;
    clearTimeout(watch.idleTimer);
    watch.idleTimer = setTimeout(() => {
      watch.idleTimer = undefined;
      if (watch.waiters.size === 0) {
        this.forget(queue, watch);
        this.closeWatch(watch);
      }
    }, this.idleMs);
    watch.idleTimer.unref();
  }

  /** Wake every waiting claim and drop every wake-up subscription. */
  close(): void {
    for (const watch of [...this.watches.values()]) {
      for (const waiter of watch.waiters) waiter.wake?.();
      this.closeWatch(watch);
    }
    this.watches.clear();
  }

  private forget(queue: string, watch: QueueWatch): void {
    if (this.watches.get(queue) === watch) this.watches.delete(queue);
  }

  private closeWatch(watch: QueueWatch): void {
    clearTimeout(watch.idleTimer);
    watch.idleTimer = undefined;
    if (watch.closed) return;
    watch.closed = true;
    // Not subscribed yet: `join` undoes it once the SUBSCRIBE is confirmed.
    if (watch.unsubscribe !== undefined) this.unsubscribe(watch);
  }

  private unsubscribe(watch: QueueWatch): void {
    watch
      .unsubscribe?.()
      .catch((error: unknown) =>
        this.logger.debug(
          { err: error, queue: watch.queue },
          'Could not unsubscribe from queue wake-ups',
        ),
      );
  }
}

/** Longest delay `setTimeout` honours (longer ones fire at once). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Wait until `until` (epoch ms), until `waiter` is woken, or until `signal` aborts (at once if
 * it already has). Leaves no timer, listener or wake function behind, whichever comes first.
 */
export function sleepUntil(
  waiter: Waiter,
  until: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      if (waiter.wake === done) waiter.wake = undefined;
      resolve();
    };
    // Capped: past it the caller simply looks again.
    const timer = setTimeout(done, Math.min(MAX_TIMER_MS, Math.max(0, until - Date.now())));
    waiter.wake = done;
    signal?.addEventListener('abort', done, { once: true });
  });
}
