/**
 * One timer for many deadlines. Creating a `setTimeout` per RPC call or async handler costs more
 * than the call itself on the local fast path, so pending work registers here instead:
 * `add()` appends to a FIFO per duration (deadlines within one duration are monotonic, so the
 * head is always the earliest), `cancel` is a flag, and a single unref'd timer fires the
 * earliest head. Cancelled entries are dropped when they reach the head or by compaction, so
 * memory stays proportional to live entries even when one entry is pending for a long time.
 * The timer keeps the process alive only while some entry is live, like a real timer would.
 */
export interface DeadlineEntry {
  readonly deadline: number;
  /** Cancel; returns true if this call cancelled it (it had neither fired nor been cancelled). */
  cancel(): boolean;
}

class Entry implements DeadlineEntry {
  done = false;
  constructor(
    readonly deadline: number,
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

class Queue {
  items: Entry[] = [];
  head = 0;
  cancelled = 0;

  get live(): number {
    return this.items.length - this.head - this.cancelled;
  }

  compact(): void {
    this.items = this.items.slice(this.head).filter((entry) => !entry.done);
    this.head = 0;
    this.cancelled = 0;
  }
}

const COMPACT_MIN = 4096;

export class Deadlines {
  private readonly queues = new Map<number, Queue>();
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private closed = false;
  private live = 0;

  /** Call `onExpire` at `now + timeoutMs` unless cancelled first. */
  add(timeoutMs: number, onExpire: () => void): DeadlineEntry {
    let queue = this.queues.get(timeoutMs);
    if (queue === undefined) this.queues.set(timeoutMs, (queue = new Queue()));
    const entry = new Entry(Date.now() + timeoutMs, onExpire, queue, this);
    queue.items.push(entry);
    if (++this.live === 1) this.timer?.ref();
    if (queue.cancelled > COMPACT_MIN && queue.cancelled > queue.live) queue.compact();
    if (entry.deadline < this.armedAt && !this.closed) this.arm(entry.deadline);
    return entry;
  }

  /** @internal An entry was cancelled or fired. */
  settled(): void {
    if (--this.live === 0) this.timer?.unref();
  }

  /** Fire every pending entry now (used at shutdown so nothing stays pending). */
  flush(): void {
    for (const queue of this.queues.values()) {
      const items = queue.items;
      for (let i = queue.head; i < items.length; i++) items[i]!.fire();
    }
    this.queues.clear();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, at - Date.now()));
    if (this.live === 0) this.timer.unref();
  }

  private sweep(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [timeout, queue] of this.queues) {
      const items = queue.items;
      let head = queue.head;
      while (head < items.length) {
        const entry = items[head]!;
        if (entry.done) {
          queue.cancelled--;
          head++;
        } else if (entry.deadline <= now) {
          head++;
          entry.fire();
        } else {
          next = Math.min(next, entry.deadline);
          break;
        }
      }
      queue.head = head;
      if (head >= items.length) this.queues.delete(timeout);
      else if (head > COMPACT_MIN) queue.compact();
    }
    if (next !== Infinity && !this.closed) this.arm(next);
  }
}
