import { randomBytes } from 'node:crypto';
import type { ClaimedMessage, ClaimOptions, QueueCounts, QueueRateLimit } from '../ports.js';
import { ActivityKind, ActivityRing } from './activity-ring.js';
import { DedupKeys } from './dedup-keys.js';
import { IndexedHeap } from './indexed-heap.js';
import { ReadyQueue } from './ready-queue.js';

/** Where a message is: which one structure of its queue holds it. */
type MessageState = 'ready' | 'delayed' | 'held' | 'dead' | 'gone';

export interface StoredMessage {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly enqueuedAt: number;
  readonly priority: number;
  /** Deliveries after which a redelivery dead-letters it instead (0: no limit). */
  readonly maxAttempts: number;
  /** Enqueue order, to break ties between equal due times. */
  readonly seq: number;
  attempt: number;
  state: MessageState;
  /** Epoch ms: when due (delayed), when the lease ends (leased) or the release is due (released). */
  availableAt: number;
  /** Set while leased (also once the lease lapsed, until it is claimed again). */
  consumer: string | undefined;
  /** Token of the current lease: unique per delivery, unguessable (never the attempt number). */
  lease: string | undefined;
  heapIndex: number;
}

export interface DeadEntry {
  readonly message: StoredMessage;
  readonly reason: string;
  readonly deadAt: number;
}

const byTime = (a: StoredMessage, b: StoredMessage): boolean =>
  a.availableAt < b.availableAt || (a.availableAt === b.availableAt && a.seq < b.seq);

/**
 * One queue's messages, shared by every node of a memory network:
 * - `ready`: claimable now, by priority (higher first), arrival order within a priority;
 * - `delayed`: enqueued with a delay or due time, by due time; moved to `ready` in due order as
 *   they fall due (before anything else touches the queue, so a due message precedes later ones);
 * - `held`: leased (until the lease ends) or released (until the release delay ends), by that
 *   time; the ones whose time has passed are redeliveries and are claimed before `ready`;
 * - `dead`: dead letters, oldest first (kept until removed, retried or purged).
 * Every live message is also in `messages` by id.
 */
export class MemoryQueue {
  readonly messages = new Map<string, StoredMessage>();
  readonly ready = new ReadyQueue<StoredMessage>();
  readonly delayed = new IndexedHeap<StoredMessage>(byTime);
  readonly held = new IndexedHeap<StoredMessage>(byTime);
  readonly dead: DeadEntry[] = [];
  readonly dedup = new DedupKeys();
  readonly activity = new ActivityRing();
  /** Claims waiting for work; each is called to look again. */
  readonly waiters = new Set<() => void>();
  /** The current rate-limit window: it starts with the first claim that takes something. */
  private rateStart = 0;
  private rateTaken = 0;
  /** Wakes the waiting claims when the earliest delayed or held message falls due (see {@link armDueTimer}). */
  private dueTimer: NodeJS.Timeout | undefined;
  private dueTimerAt = Infinity;
  seq = 0;

  constructor(readonly createdAt: number) {}

  /** Add a new message: ready, or delayed until its `availableAt` when that is in the future. */
  add(message: StoredMessage, now: number): void {
    this.promote(now);
    this.messages.set(message.id, message);
    this.activity.record(ActivityKind.Enqueued, now);
    if (message.availableAt > now) {
      message.state = 'delayed';
      this.delayed.push(message);
    } else this.makeReady(message);
    this.wake();
  }

  /** Move every due delayed message to `ready`, in due order. */
  promote(now: number): void {
    for (let m = this.delayed.peek(); m !== undefined && m.availableAt <= now;) {
      this.delayed.pop();
      this.makeReady(m);
      m = this.delayed.peek();
    }
  }

  makeReady(message: StoredMessage): void {
    message.state = 'ready';
    message.consumer = undefined;
    message.lease = undefined;
    this.ready.push(message);
  }

  /**
   * Lease up to `count` messages (fewer under a rate limit): redeliveries first, then ready ones.
   * A redelivery whose attempts are used up is dead-lettered instead and does not count.
   */
  take(consumer: string, options: ClaimOptions, now: number): ClaimedMessage[] {
    this.promote(now);
    const budget = Math.min(options.count, this.rateAllowance(options.rateLimit, now));
    const out: ClaimedMessage[] = [];
    const token = leaseTokens();
    while (out.length < budget) {
      const due = this.held.peek();
      if (due === undefined || due.availableAt > now) break;
      this.held.pop();
      if (due.maxAttempts > 0 && due.attempt >= due.maxAttempts) {
        this.bury(
          due,
          `Delivered ${due.attempt} times (maxAttempts ${due.maxAttempts}) without being settled: its receivers died, overran their lease or gave it back every time.`,
          now,
        );
        continue;
      }
      out.push(this.lease(due, consumer, options.leaseMs, now, token()));
    }
    while (out.length < budget) {
      const next = this.ready.shift();
      if (next === undefined) break;
      out.push(this.lease(next, consumer, options.leaseMs, now, token()));
    }
    if (out.length > 0 && options.rateLimit !== undefined) {
      if (now >= this.rateStart + options.rateLimit.intervalMs) {
        this.rateStart = now;
        this.rateTaken = 0;
      }
      this.rateTaken += out.length;
    }
    return out;
  }

  /**
   * When a claim that found nothing should look again (before `deadline`): when the rate window
   * ends if it is used up, else when the earliest delay, release or lease ends.
   */
  nextLook(rateLimit: QueueRateLimit | undefined, now: number, deadline: number): number {
    if (this.rateAllowance(rateLimit, now) === 0)
      return Math.min(deadline, this.rateStart + rateLimit!.intervalMs);
    return Math.min(deadline, this.earliestDue());
  }

  /** When the earliest delay, release or lease ends (Infinity: none). */
  private earliestDue(): number {
    let next = Infinity;
    for (const heap of [this.delayed, this.held]) {
      const first = heap.peek();
      if (first !== undefined) next = Math.min(next, first.availableAt);
    }
    return next;
  }

  /** Move a message to the dead letters. */
  bury(message: StoredMessage, reason: string, now: number): void {
    this.held.remove(message);
    this.messages.delete(message.id);
    message.state = 'dead';
    this.dead.push({ message, reason, deadAt: now });
    this.activity.record(ActivityKind.Failed, now);
  }

  counts(now: number): QueueCounts {
    this.promote(now);
    let ready = this.ready.size;
    let delayed = this.delayed.size;
    let leased = 0;
    for (const m of this.held.values()) {
      if (m.availableAt <= now)
        ready++; // a lapsed lease or due release: a redelivery
      else if (m.consumer !== undefined) leased++;
      else delayed++;
    }
    return { ready, delayed, leased, dead: this.dead.length };
  }

  /** Wake every waiting claim to look again (new work, or the queue went away). */
  wake(): void {
    if (this.waiters.size === 0) return;
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * While claims wait, keep one timer for when the earliest delayed or held message falls due,
   * which wakes them: the claim's own wait rides the shared deadline sweeper, which ticks every
   * 10 ms, so a delayed message would be delivered up to a tick late. Called after a claim
   * starts or stops waiting; without waiters, or without such a message, there is no timer.
   * The timer is unref'd: the waiting claim's own deadline keeps the process alive, as before.
   */
  armDueTimer(now: number): void {
    const due = this.waiters.size > 0 ? this.earliestDue() : Infinity;
    // One already due is not waited for: either the claims take it now, or a rate limit holds
    // them back, until a window end their own wait is for (a timer for it would spin).
    const at = due > now ? due : Infinity;
    if (at === this.dueTimerAt) return;
    if (this.dueTimer !== undefined) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.dueTimerAt = at;
    if (at === Infinity) return;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      this.dueTimerAt = Infinity;
      this.wake();
    }, at - now).unref();
  }

  /** True while a due-time timer is armed (for tests). */
  get hasDueTimer(): boolean {
    return this.dueTimer !== undefined;
  }

  /** How many more claims the current window allows (Infinity without a limit). */
  private rateAllowance(limit: QueueRateLimit | undefined, now: number): number {
    if (limit === undefined) return Infinity;
    if (now >= this.rateStart + limit.intervalMs) return limit.max;
    return Math.max(0, limit.max - this.rateTaken);
  }

  private lease(
    m: StoredMessage,
    consumer: string,
    leaseMs: number,
    now: number,
    token: string,
  ): ClaimedMessage {
    m.attempt++;
    m.state = 'held';
    m.consumer = consumer;
    m.lease = token;
    m.availableAt = now + leaseMs;
    this.held.push(m);
    return {
      id: m.id,
      payload: m.payload,
      attempt: m.attempt,
      enqueuedAt: m.enqueuedAt,
      lease: m.lease,
    };
  }
}

/**
 * Lease tokens for one claim: a random prefix drawn once (on the first lease) plus a counter, so
 * each delivery's token is unique and unguessable across claims at the cost of one
 * `randomBytes` per claim rather than per message.
 */
function leaseTokens(): () => string {
  let prefix: string | undefined;
  let n = 0;
  return () => `${(prefix ??= randomBytes(12).toString('base64url'))}.${(n++).toString(36)}`;
}
