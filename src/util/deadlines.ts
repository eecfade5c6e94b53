import { heapPop, heapPush } from './min-heap.js';

/**
 * The deadline scheduler: one ticking timer for many deadlines, given as a duration (`add`) or
 * as an absolute epoch time (`at`). Every async RPC call, event handler, chain handler and host
 * step is bounded, but on the local fast path a `setTimeout` per call, or even one clock read per
 * call (`Date.now()` is a system call on some VMs), costs more than the call itself. So:
 *
 * - `add()` only appends an entry to a FIFO per duration: no clock read, no timer.
 * - `at()` pushes an entry on a min-heap ordered by its epoch deadline (absolute deadlines come
 *   from elsewhere, e.g. a deadline carried by a request, so they share no FIFO order).
 * - While entries are live, a sweeper ticks every {@link TICK_MS}. Each tick stamps the entries
 *   added since the previous tick with `deadline = now + duration` and fires the expired ones.
 *   An entry is stamped at or after the moment it was added, so a deadline can fire up to one
 *   tick late but never early (even after the event loop was blocked).
 * - `cancel()` is a flag; cancelled entries are dropped at the head or by compaction, so memory
 *   stays proportional to live entries even while one entry stays pending for a long time.
 * - The sweeper keeps the process alive only while some entry is live, like a real timer would
 *   (never, with `{ keepAlive: false }`); it is unref'd by an idle check on the next macrotask
 *   rather than on every 1 → 0 transition, because toggling a timer's ref is a native call and
 *   back-to-back calls would pay it each time.
 */
export interface DeadlineEntry {
  /** Cancel; returns true if this call cancelled it (it had neither fired nor been cancelled). */
  cancel(): boolean;
}

/** Sweeper period: deadlines fire at most this much late. */
export const TICK_MS = 10;

const UNSTAMPED = Infinity;
const COMPACT_MIN = 4096;

class Entry implements DeadlineEntry {
  done = false;
  deadline = UNSTAMPED;

  constructor(
    private readonly onExpire: () => void,
    private readonly queue: Queue,
    private readonly owner: Deadlines,
  ) {}

  cancel(): boolean {
    if (this.done) return false;
    this.done = true;
    this.queue.cancelled++;
    this.owner.settled();
    return true;
  }

  fire(): void {
    if (this.done) return;
    this.done = true;
    this.owner.settled();
    this.onExpire();
  }
}

/** An absolute deadline, kept in {@link Deadlines}' heap. */
class AtEntry implements DeadlineEntry {
  done = false;

  constructor(
    readonly at: number,
    private readonly onExpire: () => void,
    private readonly owner: Deadlines,
  ) {}

  cancel(): boolean {
    if (this.done) return false;
    this.done = true;
    this.owner.settled(true);
    return true;
  }

  fire(): void {
    if (this.done) return;
    this.done = true;
    this.owner.settled();
    this.onExpire();
  }
}

class Queue {
  items: Entry[] = [];
  head = 0;
  /** Entries before this index have a deadline. */
  stamped = 0;
  cancelled = 0;

  constructor(readonly duration: number) {}

  get live(): number {
    return this.items.length - this.head - this.cancelled;
  }

  compact(): void {
    if (this.live === 0) {
      // All done: nothing to keep (the usual case under steady load).
      this.items = [];
      this.head = 0;
      this.cancelled = 0;
      this.stamped = 0;
      return;
    }
    this.items = this.items.slice(this.head).filter((entry) => !entry.done);
    this.head = 0;
    this.cancelled = 0;
    let stamped = 0;
    while (stamped < this.items.length && this.items[stamped]!.deadline !== UNSTAMPED) stamped++;
    this.stamped = stamped;
  }
}

export interface DeadlinesOptions {
  /** Keep the process alive while deadlines are pending, as a timer would. Default true. */
  keepAlive?: boolean;
}

export class Deadlines {
  private readonly queues = new Map<number, Queue>();
  /** Absolute deadlines, a binary min-heap by `at`. */
  private heap: AtEntry[] = [];
  private heapCancelled = 0;
  private readonly keepAlive: boolean;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private live = 0;
  private refed = false;
  private idleCheck = false;
  private ticking = false;

  constructor(options: DeadlinesOptions = {}) {
    this.keepAlive = options.keepAlive ?? true;
  }

  /** Number of deadlines neither fired nor cancelled. */
  get size(): number {
    return this.live;
  }

  /**
   * Call `onExpire` once the clock reaches `epochMs` (up to one tick later), unless cancelled
   * first. For deadlines that arrive as a time (a request's deadline, a lease end).
   */
  at(epochMs: number, onExpire: () => void): DeadlineEntry {
    if (this.closed) return this.add(0, onExpire);
    // A NaN deadline would never fire and would break the heap's order: it has passed.
    const entry = new AtEntry(Number.isNaN(epochMs) ? 0 : epochMs, onExpire, this);
    heapPush(this.heap, entry);
    if (
      this.heapCancelled > COMPACT_MIN &&
      this.heapCancelled > this.heap.length / 2 &&
      !this.ticking
    )
      this.compactHeap();
    if (++this.live === 1) this.wake();
    return entry;
  }

  /** Call `onExpire` once `timeoutMs` have passed (up to one tick later), unless cancelled first. */
  add(timeoutMs: number, onExpire: () => void): DeadlineEntry {
    if (this.closed) {
      // Shutting down: nothing may wait for a timer that no longer ticks.
      let cancelled = false;
      queueMicrotask(() => cancelled || onExpire());
      return { cancel: () => !cancelled && (cancelled = true) };
    }
    // NaN or a negative duration has passed already (NaN would never fire).
    if (!(timeoutMs > 0)) timeoutMs = 0;
    let queue = this.queues.get(timeoutMs);
    if (queue === undefined) this.queues.set(timeoutMs, (queue = new Queue(timeoutMs)));
    const entry = new Entry(onExpire, queue, this);
    queue.items.push(entry);
    // Not while ticking: the sweep holds indexes into the queue's array.
    if (queue.cancelled > COMPACT_MIN && queue.cancelled > queue.live && !this.ticking)
      queue.compact();
    if (++this.live === 1) this.wake();
    return entry;
  }

  /** @internal An entry was cancelled (`heapCancel`: one of the heap's) or fired. */
  settled(heapCancel = false): void {
    if (heapCancel) this.heapCancelled++;
    if (--this.live === 0 && !this.idleCheck) {
      this.idleCheck = true;
      setImmediate(() => {
        this.idleCheck = false;
        if (this.live === 0 && this.refed) {
          this.timer?.unref();
          this.refed = false;
        }
      }).unref();
    }
  }

  /** Fire every pending entry now (used at shutdown so nothing stays pending). */
  flush(): void {
    for (const queue of this.queues.values()) {
      const items = queue.items;
      for (let i = queue.head; i < items.length; i++) items[i]!.fire();
    }
    this.queues.clear();
    const heap = this.heap;
    this.heap = [];
    this.heapCancelled = 0;
    for (const entry of heap) entry.fire();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private wake(): void {
    if (this.closed) return;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.refed = this.keepAlive;
      if (!this.keepAlive) this.timer.unref();
    } else if (!this.refed && this.keepAlive) {
      this.timer.ref();
      this.refed = true;
    }
  }

  private tick(): void {
    this.ticking = true;
    try {
      this.sweep(Date.now());
    } finally {
      this.ticking = false;
    }
    if (this.queues.size === 0 && this.heap.length === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.refed = false;
    }
  }

  private sweep(now: number): void {
    const heap = this.heap;
    while (heap.length > 0 && (heap[0]!.done || heap[0]!.at <= now)) {
      const entry = heapPop(heap);
      if (entry.done) this.heapCancelled--;
      else entry.fire();
    }
    for (const [duration, queue] of this.queues) {
      const items = queue.items;
      for (let i = queue.stamped; i < items.length; i++) items[i]!.deadline = now + duration;
      queue.stamped = items.length;
      let head = queue.head;
      while (head < items.length) {
        const entry = items[head]!;
        if (entry.done) {
          queue.cancelled--;
          head++;
        } else if (entry.deadline <= now) {
          head++;
          entry.fire();
        } else break;
      }
      queue.head = head;
      if (head >= queue.items.length) this.queues.delete(duration);
      else if (head > COMPACT_MIN) queue.compact();
    }
  }

  private compactHeap(): void {
    const live = this.heap.filter((entry) => !entry.done);
    this.heap = [];
    this.heapCancelled = 0;
    for (const entry of live) heapPush(this.heap, entry);
  }
}

/**
 * The process-wide scheduler for bounds that have no runtime to belong to (host steps, which run
 * before the runtime exists and after it closed). Never closed.
 */
export const sharedDeadlines = new Deadlines();
