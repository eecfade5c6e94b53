import type { WorkTracker } from '../util/work-tracker.js';
import type { EventHandler, Subscription } from './types.js';

export type CloseReason = 'unsubscribed' | 'plugin-stopped' | 'once';

/** One subscription as the bus core keeps it; also the handle given to the plugin. */
export class SubscriptionRecord implements Subscription {
  active = true;
  readonly closed: Promise<CloseReason>;
  /** See {@link Subscription.ready}; set by the bus core. */
  ready: Promise<void> = Promise.resolve();
  /** Resolves when the subscription has fully stopped (a durable consumer finished its event). */
  drained: Promise<void> = Promise.resolve();
  /**
   * Whether the handler can see its `meta` argument: declared with 3+ parameters, or with a rest
   * parameter (length 0). Publishes whose receivers cannot see it skip reading the clock.
   */
  readonly seesMeta: boolean;
  private resolveClosed!: (reason: CloseReason) => void;

  constructor(
    readonly id: string,
    readonly seq: number,
    readonly owner: string,
    readonly pattern: string,
    readonly handler: EventHandler,
    readonly group: string | undefined,
    readonly priority: number,
    readonly once: boolean,
    /** Counts this subscription's async handlers in flight, for its plugin's release. */
    readonly tracker: WorkTracker,
    private readonly detach: (
      record: SubscriptionRecord,
      reason: CloseReason,
    ) => Promise<void> | undefined,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.seesMeta = handler.length === 0 || handler.length >= 3;
  }

  unsubscribe(): void {
    this.end('unsubscribed');
  }

  /** Idempotent: the first call detaches and resolves `closed`. */
  end(reason: CloseReason): void {
    if (!this.active) return;
    this.active = false;
    try {
      const stopping = this.detach(this, reason);
      if (stopping !== undefined) this.drained = stopping;
    } finally {
      this.resolveClosed(reason);
    }
  }
}

/** Priority first (higher earlier), then subscription order. */
export function compareSubscriptions(a: SubscriptionRecord, b: SubscriptionRecord): number {
  return b.priority - a.priority || a.seq - b.seq;
}
