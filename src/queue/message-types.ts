/**
 * Public types of `context.messageQueue`: durable work queues with competing consumers,
 * at-least-once delivery, retries with backoff, delays, priorities and dead letters.
 */

/** What a handler returns: `SUCCESS` (or nothing) acknowledges, `FAILED` (or a throw) fails. */
export const MessageStatus = { SUCCESS: 'success', FAILED: 'failed' } as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** A message's id, unique within its queue. */
export type MessageId = string;

/**
 * Queue payload types, declared by the application with declaration merging:
 *
 * ```ts
 * declare module 'plugboard' {
 *   interface PlugboardQueues {
 *     'email.tasks': { to: string; subject: string; body: string };
 *   }
 * }
 * ```
 *
 * `send` then checks the data of a declared queue and `receive` types `message.data`; undeclared
 * queues stay open.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PlugboardQueues {}

/** The data type of queue `Q`: the declared one, or `T` for undeclared queues. */
export type QueuePayload<Q extends string, T = unknown> = Q extends keyof PlugboardQueues
  ? PlugboardQueues[Q]
  : T;

/** One delivery of a message to a handler. */
export interface QueueMessage<T = unknown> {
  readonly id: MessageId;
  readonly queue: string;
  readonly data: T;
  /** 1 on the first delivery; counts every delivery (retries and redeliveries after a crash). */
  readonly attempt: number;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The trace this message's work belongs to: the sender's (see `SendOptions.traceId`), or the
   * message's id. A failure of its handler is reported as `plugin.error` with it.
   */
  readonly traceId: string;
  /**
   * The plugin that sent the message, written by its host (a sender cannot set it: headers are
   * the sender's own words). Undefined for a message stored by an older version.
   */
  readonly sender: string | undefined;
  /** Epoch ms when the message was sent. */
  readonly enqueuedAt: number;
  /** Renew the lease by `ms` (default: the receiver's leaseMs) from now. false: lease lost. */
  extendLease(ms?: number): Promise<boolean>;
  /**
   * Aborted when the handler ran over its timeout or the consumer is stopping. A handler that
   * gives up by throwing while its consumer stops has its message given back to the queue (not
   * counted as a failure).
   */
  readonly signal: AbortSignal;
}

export type MessageHandler<T = unknown> = (
  message: QueueMessage<T>,
) => MessageStatus | void | Promise<MessageStatus | void>;

export interface SendOptions {
  /** Idempotency key: a second send with the same id within `dedupWindow` enqueues nothing. */
  id?: string;
  /** How long `id` is remembered, ms (default 3_600_000). */
  dedupWindow?: number;
  /** Not delivered before this many ms from now. */
  delay?: number;
  /** Integer in [-1_000_000, 1_000_000], default 0; higher is delivered first. */
  priority?: number;
  headers?: Record<string, string>;
  /**
   * The trace the message's work continues (`message.traceId` at the receiver). Default: the
   * trace of the handler that sends it, when sent from an event or queue handler before its first
   * `await`; after an `await`, pass `meta.traceId` (or `message.traceId`) to keep it.
   */
  traceId?: string;
  /** Deliveries after which a message whose receivers keep dying is dead-lettered (default 5). */
  maxDeliveries?: number;
}

export interface RetryOptions {
  /** Retries after the first delivery. */
  maxRetries: number;
  backoff: 'fixed' | 'exponential';
  /** ms before the first retry (every retry, when fixed; doubling, when exponential). */
  delay: number;
  /** Upper bound of one delay, ms. */
  maxDelay?: number;
  /** Default true: each delay is drawn from ±50 % of it ("equal jitter"). */
  jitter?: boolean;
}

export interface ReceiveOptions {
  /** Handlers running at once (default 1: one at a time, in order). */
  concurrency?: number;
  /**
   * Messages held at once, running or waiting for a slot (at least `concurrency`). Default:
   * adaptive, up to `concurrency + max(64, concurrency)`: beyond the running handlers a receiver
   * holds only what its handlers get through in about 100 ms (measured), so fast handlers need
   * few round trips and slow ones never hoard messages another receiver could take.
   */
  prefetch?: number;
  /** How long a dead receiver's message waits before redelivery, ms (default 30_000). */
  leaseMs?: number;
  /** Bound on one handler call, ms (default 300_000); past it the delivery counts as failed. */
  timeout?: number;
  /** At most `max` messages per `interval` ms, across every receiver of the queue. */
  rateLimit?: { max: number; interval: number };
}

export interface Consumer {
  readonly queue: string;
  /** Messages held now (running or waiting for a slot). */
  readonly inFlight: number;
  /** Stop claiming; wait (bounded by `timeout`, default the receiver's handler timeout) for messages in flight; unfinished ones are released. */
  stop(timeout?: number): Promise<void>;
}

export interface QueueStats {
  waiting: number;
  delayed: number;
  inFlight: number;
  dead: number;
  /** per second, over windowMs */
  rates: { enqueued: number; completed: number; failed: number };
  windowMs: number;
}

export interface QueueDeadLetter<T = unknown> {
  readonly id: MessageId;
  readonly queue: string;
  /** undefined when the stored message cannot be decoded. */
  readonly data: T | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Why: the handler's last error message. */
  readonly reason: string;
  readonly attempt: number;
  readonly enqueuedAt: number;
  readonly deadAt: number;
}

// Defined beside the repeat scheduler, which needs them too; part of this block's API.
import type { RepeatHandle, RepeatSchedule } from './repeat-types.js';
export type { RepeatHandle, RepeatSchedule };

/** Durable work queues of the cluster, as one plugin sees them (`context.messageQueue`). */
export interface MessageQueue {
  send<T, Q extends string = string>(
    queue: Q,
    data: QueuePayload<Q, T>,
    options?: SendOptions,
  ): Promise<MessageId>;
  /**
   * Start consuming `queue`; returns at once (the consumer runs until stopped or the plugin
   * stops). With a policy for the queue in `createHost({ resilience: { queues } })`, the handler
   * runs through it, and while its breaker is open nothing is claimed or started (no attempt is
   * spent).
   */
  receive<T, Q extends string = string>(
    queue: Q,
    handler: MessageHandler<QueuePayload<Q, T>>,
    options?: ReceiveOptions,
  ): Consumer;
  sendDelayed<T, Q extends string = string>(
    queue: Q,
    data: QueuePayload<Q, T>,
    delay: number,
    options?: SendOptions,
  ): Promise<MessageId>;
  sendWithRetry<T, Q extends string = string>(
    queue: Q,
    data: QueuePayload<Q, T>,
    retry: RetryOptions,
    options?: SendOptions,
  ): Promise<MessageId>;
  /** Remove a waiting (ready or delayed) message. false: not waiting (unknown, running, done). */
  cancel(queue: string, id: MessageId): Promise<boolean>;
  stats(queue: string): Promise<QueueStats>;
  /** Up to `limit` (default 100) dead letters, oldest first. */
  deadLetters<T = unknown>(queue: string, limit?: number): Promise<QueueDeadLetter<T>[]>;
  retryDeadLetter(queue: string, id: MessageId): Promise<boolean>;
  retryDeadLetters(queue: string): Promise<number>;
  removeDeadLetter(queue: string, id: MessageId): Promise<boolean>;
  purgeDeadLetters(queue: string): Promise<number>;
  /**
   * Send `data` to `queue` on a schedule, once per due time across the cluster however many hosts
   * run the same named schedule. Stopped by `cancel()` or when the plugin stops.
   */
  repeat<T, Q extends string = string>(
    queue: Q,
    data: QueuePayload<Q, T>,
    schedule: RepeatSchedule,
    options: { name: string } & SendOptions,
  ): Promise<RepeatHandle>;
}
