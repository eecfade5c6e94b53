import { randomBytes } from 'node:crypto';
import { BackendUnavailableError } from '../../errors/errors.js';
import { Deadlines, sharedDeadlines } from '../../util/deadlines.js';
import type {
  BindingChange,
  BindingListener,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  PortSubscription,
  QueueCounts,
  QueueStore,
} from '../ports.js';

interface StoredMessage {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly enqueuedAt: number;
  attempt: number;
  /** Epoch ms when it may be claimed (now, later for released ones, lease end for leased ones). */
  availableAt: number;
  consumer: string | undefined;
  /** Token of the current lease: random, unique per delivery (never the attempt number). */
  lease: string | undefined;
}

interface MemoryQueue {
  /** Not yet claimed or released, in order. */
  readonly ready: StoredMessage[];
  /** Leased or delayed, by id. */
  readonly held: Map<string, StoredMessage>;
  readonly dead: Array<{ message: StoredMessage; reason: string; deadAt: number }>;
  readonly waiters: Set<() => void>;
  seq: number;
}

/** Queue state shared by every node of one {@link MemoryNetwork}. */
export class MemoryQueueState {
  readonly queues = new Map<string, MemoryQueue>();
  readonly bindings = new Map<string, Set<string>>();
  /** Binding watchers of every node; told on a microtask, in order, like the transport. */
  readonly bindingListeners = new Set<BindingListener>();

  notifyBinding(change: BindingChange): void {
    for (const listener of this.bindingListeners) queueMicrotask(() => listener(change));
  }

  queue(name: string): MemoryQueue {
    let q = this.queues.get(name);
    if (q === undefined)
      this.queues.set(
        name,
        (q = { ready: [], held: new Map(), dead: [], waiters: new Set(), seq: 0 }),
      );
    return q;
  }
}

export interface MemoryQueueStoreOptions {
  /** Scheduler of claim waits (which keep the process alive). Default: `sharedDeadlines`. */
  deadlines?: Deadlines;
}

/** The queue port over shared in-process state. */
export class MemoryQueueStore implements QueueStore {
  private closed = false;
  /** Wakes for delayed releases: they do not keep the process alive, and end with the store. */
  private readonly wakes = new Deadlines({ keepAlive: false });
  private readonly waits: Deadlines;
  private readonly watchers = new Set<BindingListener>();

  constructor(
    private readonly state: MemoryQueueState,
    options: MemoryQueueStoreOptions = {},
  ) {
    this.waits = options.deadlines ?? sharedDeadlines;
  }

  enqueue(queue: string, payload: Uint8Array): Promise<string> {
    if (this.closed) return Promise.reject(closedError());
    const q = this.state.queue(queue);
    const id = `${Date.now()}-${++q.seq}`;
    q.ready.push({
      id,
      payload: payload.slice(),
      enqueuedAt: Date.now(),
      attempt: 0,
      availableAt: 0,
      consumer: undefined,
      lease: undefined,
    });
    wake(q);
    return Promise.resolve(id);
  }

  async claim(queue: string, consumer: string, options: ClaimOptions): Promise<ClaimedMessage[]> {
    this.assertOpen();
    const q = this.state.queue(queue);
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const taken = this.take(q, consumer, options);
      if (
        taken.length > 0 ||
        Date.now() >= deadline ||
        options.signal?.aborted === true ||
        this.closed
      )
        return taken;
      await this.waitForWork(q, deadline, options.signal);
    }
  }

  ack(queue: string, id: string, lease: string): Promise<boolean> {
    return this.settle(queue, id, lease, (q) => {
      q.held.delete(id);
    });
  }

  release(queue: string, id: string, lease: string, delayMs: number): Promise<boolean> {
    return this.settle(queue, id, lease, (q, message) => {
      message.consumer = undefined;
      message.lease = undefined;
      message.availableAt = Date.now() + delayMs;
      this.wakeAt(q, delayMs);
    });
  }

  extend(queue: string, id: string, lease: string, leaseMs: number): Promise<boolean> {
    return this.settle(queue, id, lease, (_q, message) => {
      message.availableAt = Date.now() + leaseMs;
    });
  }

  deadLetter(queue: string, id: string, lease: string, reason: string): Promise<boolean> {
    return this.settle(queue, id, lease, (q, message) => {
      q.held.delete(id);
      q.dead.push({ message, reason, deadAt: Date.now() });
    });
  }

  /** Apply `change` only if `lease` is the message's current lease token. */
  private settle(
    queue: string,
    id: string,
    lease: string,
    change: (q: MemoryQueue, message: StoredMessage) => void,
  ): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    const q = this.state.queue(queue);
    const message = q.held.get(id);
    if (message === undefined || message.consumer === undefined || message.lease !== lease) {
      return Promise.resolve(false);
    }
    change(q, message);
    return Promise.resolve(true);
  }

  counts(queue: string): Promise<QueueCounts> {
    const q = this.state.queue(queue);
    const now = Date.now();
    let delayed = 0;
    let leased = 0;
    for (const m of q.held.values()) {
      if (m.consumer !== undefined && m.availableAt > now) leased++;
      else if (m.availableAt > now) delayed++;
    }
    const expired = q.held.size - delayed - leased;
    return Promise.resolve({
      ready: q.ready.length + expired,
      delayed,
      leased,
      dead: q.dead.length,
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
    dead!.splice(index, 1);
    return Promise.resolve(true);
  }

  retryDeadLetter(queue: string, id: string): Promise<boolean> {
    if (this.closed) return Promise.reject(closedError());
    const q = this.state.queues.get(queue);
    const index = q?.dead.findIndex((d) => d.message.id === id) ?? -1;
    if (q === undefined || index < 0) return Promise.resolve(false);
    const { message } = q.dead.splice(index, 1)[0]!;
    message.consumer = undefined;
    message.availableAt = 0;
    q.held.set(message.id, message);
    wake(q);
    return Promise.resolve(true);
  }

  purgeDeadLetters(queue: string): Promise<number> {
    if (this.closed) return Promise.reject(closedError());
    const dead = this.state.queues.get(queue)?.dead;
    return Promise.resolve(dead?.splice(0).length ?? 0);
  }

  deleteQueue(queue: string): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    for (const pattern of [...(this.state.bindings.get(queue) ?? [])])
      void this.unbind(queue, pattern);
    const q = this.state.queues.get(queue);
    this.state.queues.delete(queue);
    if (q !== undefined) wake(q);
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
    // Fires the pending wakes: harmless, every waiter is woken just below anyway.
    this.wakes.close();
    for (const q of this.state.queues.values()) wake(q);
  }

  /** Redeliveries (expired leases, due releases) first, then new messages in order. */
  private take(q: MemoryQueue, consumer: string, options: ClaimOptions): ClaimedMessage[] {
    const now = Date.now();
    const out: ClaimedMessage[] = [];
    const lease = (m: StoredMessage): void => {
      m.attempt++;
      m.consumer = consumer;
      m.lease = randomBytes(12).toString('base64url');
      m.availableAt = now + options.leaseMs;
      q.held.set(m.id, m);
      out.push({
        id: m.id,
        payload: m.payload,
        attempt: m.attempt,
        enqueuedAt: m.enqueuedAt,
        lease: m.lease,
      });
    };
    for (const m of q.held.values()) {
      if (out.length >= options.count) break;
      if (m.availableAt <= now) lease(m);
    }
    while (out.length < options.count && q.ready.length > 0) lease(q.ready.shift()!);
    return out;
  }

  private waitForWork(
    q: MemoryQueue,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return new Promise((resolve) => {
      // Also wake when the earliest lease or delay ends, so redeliveries are not missed.
      let next = deadline;
      for (const m of q.held.values()) next = Math.min(next, m.availableAt);
      const done = (): void => {
        entry.cancel();
        q.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const entry = this.waits.at(next, done);
      q.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wakeAt(q: MemoryQueue, delayMs: number): void {
    if (delayMs <= 0) return wake(q);
    this.wakes.add(delayMs, () => wake(q));
  }

  private assertOpen(): void {
    if (this.closed)
      throw new BackendUnavailableError('The memory backend of this host is closed.');
  }
}

function closedError(): BackendUnavailableError {
  return new BackendUnavailableError('The memory backend of this host is closed.');
}

function wake(q: MemoryQueue): void {
  for (const waiter of [...q.waiters]) waiter();
}
