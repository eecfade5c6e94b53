import type { Deadlines } from '../../util/deadlines.js';
import { sharedDeadlines } from '../../util/deadlines.js';
import type {
  BindingChange,
  BindingListener,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  EnqueueItem,
  EnqueueOptions,
  PortSubscription,
  QueueActivity,
  QueueCounts,
  QueueStore,
  SettleItem,
} from '../ports.js';
import {
  validateClaimOptions,
  validateDelayMs,
  validateEnqueueOptions,
  validateLeaseMs,
} from '../queue-options.js';
import { ACTIVITY_WINDOW_SECONDS, ActivityKind } from './activity-ring.js';
import { MemoryQueue, type StoredMessage } from './memory-queue.js';
import { closedError } from './closed.js';

/** Queue state shared by every node of one {@link MemoryNetwork}. */
export class MemoryQueueState {
  readonly queues = new Map<string, MemoryQueue>();
  readonly bindings = new Map<string, Set<string>>();
  /** Binding watchers of every node; told on a microtask, in order, like the transport. */
  readonly bindingListeners = new Set<BindingListener>();

  notifyBinding(change: BindingChange): void {
    for (const listener of this.bindingListeners) queueMicrotask(() => listener(change));
  }

  /** The queue, created on first use (enqueue, claim). */
  queue(name: string): MemoryQueue {
    let q = this.queues.get(name);
    if (q === undefined) this.queues.set(name, (q = new MemoryQueue(Date.now())));
    return q;
  }
}

const ZERO_COUNTS: QueueCounts = { ready: 0, delayed: 0, leased: 0, dead: 0 };
const WINDOW_MS = ACTIVITY_WINDOW_SECONDS * 1000;

export interface MemoryQueueStoreOptions {
  /** Scheduler of claim waits (which keep the process alive). Default: `sharedDeadlines`. */
  deadlines?: Deadlines;
}

/** The queue port over shared in-process state. */
export class MemoryQueueStore implements QueueStore {
  private closed = false;
  private readonly waits: Deadlines;
  private readonly watchers = new Set<BindingListener>();

  constructor(
    private readonly state: MemoryQueueState,
    options: MemoryQueueStoreOptions = {},
  ) {
    this.waits = options.deadlines ?? sharedDeadlines;
  }

  enqueue(queue: string, payload: Uint8Array, options: EnqueueOptions = {}): Promise<string> {
    return this.enqueueMany(queue, [{ payload, options }]).then(([id]) => id!);
  }

  enqueueMany(queue: string, items: readonly EnqueueItem[]): Promise<string[]> {
    if (this.closed) return Promise.reject(closedError());
    try {
      // Every item checked before anything is stored: a bad one stores nothing.
      for (const item of items) validateEnqueueOptions(item.options);
    } catch (error) {
      return Promise.reject(error);
    }
    const q = this.state.queue(queue);
    const now = Date.now();
    return Promise.resolve(items.map(({ payload, options = {} }) => add(q, payload, options, now)));
  }

  remove(queue: string, id: string): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    const q = this.state.queues.get(queue);
    const message = q?.messages.get(id);
    if (q === undefined || message === undefined) return Promise.resolve(false);
    const now = Date.now();
    q.promote(now);
    let removed: boolean;
    if (message.state === 'ready') removed = q.ready.remove(message);
    else if (message.state === 'delayed') removed = q.delayed.remove(message);
    // Released: waiting for its redelivery. A leased one is not, even once its lease lapsed:
    // its receiver may still settle it until someone claims it again.
    else if (message.consumer === undefined) removed = q.held.remove(message);
    else removed = false;
    if (removed) {
      q.messages.delete(id);
      message.state = 'gone';
    }
    return Promise.resolve(removed);
  }

  async claim(queue: string, consumer: string, options: ClaimOptions): Promise<ClaimedMessage[]> {
    this.assertOpen();
    validateClaimOptions(options);
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      // Looked up each time: a queue deleted while we waited is a new, empty one.
      const q = this.state.queue(queue);
      const now = Date.now();
      const taken = q.take(consumer, options, now);
      if (taken.length > 0 || now >= deadline || options.signal?.aborted === true || this.closed)
        return taken;
      await this.waitForWork(q, q.nextLook(options.rateLimit, now, deadline), options.signal, now);
    }
  }

  ack(queue: string, id: string, lease: string): Promise<boolean> {
    return this.settle(queue, id, lease, complete);
  }

  ackMany(queue: string, items: readonly SettleItem[]): Promise<boolean[]> {
    if (this.closed) return Promise.reject(closedError());
    const now = Date.now();
    return Promise.resolve(
      items.map(({ id, lease }) => this.apply(queue, id, lease, complete, now)),
    );
  }

  async release(queue: string, id: string, lease: string, delayMs: number): Promise<boolean> {
    validateDelayMs(delayMs);
    return this.settle(queue, id, lease, (q, message, now) => {
      message.consumer = undefined;
      message.lease = undefined;
      message.availableAt = now + Math.max(0, delayMs);
      q.held.update(message);
      q.activity.record(ActivityKind.Failed, now);
      // Waiting claims look again: now, or at the new, possibly earlier, release time.
      q.wake();
    });
  }

  async extend(queue: string, id: string, lease: string, leaseMs: number): Promise<boolean> {
    validateLeaseMs(leaseMs);
    return this.settle(queue, id, lease, (q, message, now) => {
      message.availableAt = now + leaseMs;
      q.held.update(message);
    });
  }

  deadLetter(queue: string, id: string, lease: string, reason: string): Promise<boolean> {
    return this.settle(queue, id, lease, (q, message, now) => q.bury(message, reason, now));
  }

  /** Apply `change` only if `lease` is the message's current lease token. */
  private settle(
    queue: string,
    id: string,
    lease: string,
    change: (q: MemoryQueue, message: StoredMessage, now: number) => void,
  ): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    return Promise.resolve(this.apply(queue, id, lease, change, Date.now()));
  }

  /** `settle`'s check and change, synchronous; whether the lease was current. */
  private apply(
    queue: string,
    id: string,
    lease: string,
    change: (q: MemoryQueue, message: StoredMessage, now: number) => void,
    now: number,
  ): boolean {
    const q = this.state.queues.get(queue);
    const message = q?.messages.get(id);
    if (
      q === undefined ||
      message === undefined ||
      message.state !== 'held' ||
      message.consumer === undefined ||
      message.lease !== lease
    )
      return false;
    change(q, message, now);
    return true;
  }

  counts(queue: string): Promise<QueueCounts> {
    const q = this.state.queues.get(queue);
    return Promise.resolve(q === undefined ? { ...ZERO_COUNTS } : q.counts(Date.now()));
  }

  activity(queue: string): Promise<QueueActivity> {
    const q = this.state.queues.get(queue);
    if (q === undefined)
      return Promise.resolve({
        ...ZERO_COUNTS,
        enqueued: 0,
        completed: 0,
        failed: 0,
        windowMs: WINDOW_MS,
      });
    const now = Date.now();
    q.dedup.sweep(now);
    return Promise.resolve({
      ...q.counts(now),
      ...q.activity.totals(now),
      // Whole seconds, as the buckets are: a queue made a moment ago has a 1 s window, not 0.
      windowMs: Math.min(WINDOW_MS, Math.max(1000, now - q.createdAt)),
    });
  }

  bind(queue: string, pattern: string): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    let set = this.state.bindings.get(queue);
    if (set === undefined) this.state.bindings.set(queue, (set = new Set()));
    if (!set.has(pattern)) {
      set.add(pattern);
      this.state.notifyBinding({ type: 'bind', queue, pattern });
    }
    return Promise.resolve();
  }

  unbind(queue: string, pattern: string): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const set = this.state.bindings.get(queue);
    if (set?.delete(pattern) === true) this.state.notifyBinding({ type: 'unbind', queue, pattern });
    if (set?.size === 0) this.state.bindings.delete(queue);
    return Promise.resolve();
  }

  /** In memory nothing can be missed, so there is never anything to resync. */
  watchBindings(listener: BindingListener): Promise<PortSubscription> {
    if (this.closed) return Promise.reject(closedError());
    const entry: BindingListener = (change) => {
      if (!this.closed) listener(change);
    };
    this.state.bindingListeners.add(entry);
    this.watchers.add(entry);
    return Promise.resolve({
      close: () => {
        this.state.bindingListeners.delete(entry);
        this.watchers.delete(entry);
        return Promise.resolve();
      },
    });
  }

  queueNames(): Promise<string[]> {
    const names = new Set<string>(this.state.bindings.keys());
    for (const [name, q] of this.state.queues) if (q.seq > 0) names.add(name); // ever enqueued to (as Redis keeps its id counter)
    return Promise.resolve([...names]);
  }

  deadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    const dead = this.state.queues.get(queue)?.dead ?? [];
    return Promise.resolve(
      dead.slice(0, Math.max(0, limit)).map(({ message, reason, deadAt }) => ({
        id: message.id,
        payload: message.payload,
        attempt: message.attempt,
        enqueuedAt: message.enqueuedAt,
        deadAt,
        reason,
      })),
    );
  }

  removeDeadLetter(queue: string, id: string): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    const dead = this.state.queues.get(queue)?.dead;
    const index = dead?.findIndex((d) => d.message.id === id) ?? -1;
    if (index < 0) return Promise.resolve(false);
    dead!.splice(index, 1)[0]!.message.state = 'gone';
    return Promise.resolve(true);
  }

  retryDeadLetter(queue: string, id: string): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    const q = this.state.queues.get(queue);
    const index = q?.dead.findIndex((d) => d.message.id === id) ?? -1;
    if (q === undefined || index < 0) return Promise.resolve(false);
    revive(q, q.dead.splice(index, 1));
    return Promise.resolve(true);
  }

  retryDeadLetters(queue: string): Promise<number> {
    if (this.closed) return Promise.reject(closedError());
    const q = this.state.queues.get(queue);
    if (q === undefined) return Promise.resolve(0);
    return Promise.resolve(revive(q, q.dead.splice(0)));
  }

  purgeDeadLetters(queue: string): Promise<number> {
    if (this.closed) return Promise.reject(closedError());
    const dead = this.state.queues.get(queue)?.dead.splice(0) ?? [];
    for (const d of dead) d.message.state = 'gone';
    return Promise.resolve(dead.length);
  }

  deleteQueue(queue: string): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    for (const pattern of [...(this.state.bindings.get(queue) ?? [])])
      void this.unbind(queue, pattern);
    const q = this.state.queues.get(queue);
    this.state.queues.delete(queue);
    q?.wake();
    return Promise.resolve();
  }

  bindings(): Promise<Array<{ queue: string; pattern: string }>> {
    const out: Array<{ queue: string; pattern: string }> = [];
    for (const [queue, patterns] of this.state.bindings)
      for (const pattern of patterns) out.push({ queue, pattern });
    return Promise.resolve(out);
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers) this.state.bindingListeners.delete(watcher);
    this.watchers.clear();
    for (const q of this.state.queues.values()) q.wake();
  }

  /**
   * Sleep until `until`, a wake-up of the queue (new work) or the abort, whichever is first.
   * `lookedAt`: the time the claim found nothing to take. The due timer is armed from it, not
   * from a later reading: a message that fell due in between would otherwise count as "due
   * now" and get no timer, leaving the claim asleep until its own deadline.
   */
  private waitForWork(
    q: MemoryQueue,
    until: number,
    signal: AbortSignal | undefined,
    lookedAt: number,
  ): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        entry.cancel();
        q.waiters.delete(done);
        if (q.waiters.size === 0) q.armDueTimer(Date.now());
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const entry = this.waits.at(until, done);
      q.waiters.add(done);
      q.armDueTimer(lookedAt);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

/** Store one message (options already checked); its id, or a duplicate's first id. */
function add(q: MemoryQueue, payload: Uint8Array, options: EnqueueOptions, now: number): string {
  const { dedupKey, dedupMs } = options;
  if (dedupKey !== undefined) {
    const first = q.dedup.get(dedupKey, now);
    if (first !== undefined) return first;
  } else q.dedup.sweep(now);
  const seq = ++q.seq;
  const id = `${now}-${seq}`;
  q.add(
    {
      id,
      payload: payload.slice(),
      enqueuedAt: now,
      priority: options.priority ?? 0,
      maxAttempts: options.maxAttempts ?? 0,
      seq,
      attempt: 0,
      state: 'ready',
      // The later of the delay and the due time; a past one is due now.
      availableAt: Math.max(now + (options.delayMs ?? 0), options.notBefore ?? 0),
      consumer: undefined,
      lease: undefined,
      heapIndex: -1,
    },
    now,
  );
  if (dedupKey !== undefined) q.dedup.put(dedupKey, id, now + dedupMs!);
  return id;
}

/** An acknowledged message: gone for good, counted as completed. */
function complete(q: MemoryQueue, message: StoredMessage, now: number): void {
  q.held.remove(message);
  q.messages.delete(message.id);
  message.state = 'gone';
  q.activity.record(ActivityKind.Completed, now);
}

/** Put dead letters back among the ready messages (attempts kept); how many. */
function revive(q: MemoryQueue, entries: Array<{ message: StoredMessage }>): number {
  for (const { message } of entries) {
    q.messages.set(message.id, message);
    q.makeReady(message);
  }
  if (entries.length > 0) q.wake();
  return entries.length;
}
