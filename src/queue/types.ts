import type { QueueCounts } from '../backends/ports.js';

/** One durable queue of an event group: the members of `group` subscribed with `pattern`. */
export interface DurableQueueInfo {
  readonly group: string;
  readonly pattern: string;
  /** Whether published events matching `pattern` are still stored in it. */
  readonly bound: boolean;
  readonly counts: QueueCounts;
}

/** A durable event that failed every attempt (or could not be decoded), kept for inspection. */
export interface DurableDeadLetter {
  readonly id: string;
  readonly group: string;
  readonly pattern: string;
  /** The event's name, or undefined when the stored frame cannot be decoded. */
  readonly event: string | undefined;
  /** The event's data, or undefined when it cannot be decoded. */
  readonly data: unknown;
  /** Why it was dead-lettered (the handler's last error message). */
  readonly reason: string;
  /** Deliveries it had. */
  readonly attempt: number;
  readonly enqueuedAt: number;
  readonly deadAt: number;
}

/**
 * Management of the durable event queues of the cluster (`host.durable`): everything a durable
 * subscription leaves behind (its binding, its queue, dead letters) can be listed and removed.
 * Every method rejects (never throws) on bad arguments or backend errors.
 */
export interface DurableAdmin {
  /** Every durable group queue in the cluster, with its pattern and message counts. */
  list(): Promise<DurableQueueInfo[]>;
  /** Dead letters of `group` (only its `pattern` queue when given), oldest first, up to `limit` per queue (default 100). */
  deadLetters(group: string, pattern?: string, limit?: number): Promise<DurableDeadLetter[]>;
  /** Drop one dead letter. `false`: no such dead letter. */
  removeDeadLetter(group: string, pattern: string, id: string): Promise<boolean>;
  /** Give one dead letter back to the group's members (delivered again, attempts counted on). */
  retryDeadLetter(group: string, pattern: string, id: string): Promise<boolean>;
  /** Drop every dead letter of `group` (only its `pattern` queue when given); resolves with how many. */
  purge(group: string, pattern?: string): Promise<number>;
  /**
   * Unbind `pattern` from `group` and delete its queue with every message and dead letter.
   * Resolves once every live node has dropped the binding: events are no longer stored for it; a member still running keeps an empty queue until it stops, and
   * a member that subscribes again binds it afresh.
   */
  remove(group: string, pattern: string): Promise<void>;
}
