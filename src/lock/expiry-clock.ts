/**
 * One timer for the local expiries of every held lock in the process, on the monotonic clock
 * (`performance.now()`): a lock is usually released long before its expiry, so a `setTimeout`
 * (plus `unref`, a native call) and `clearTimeout` per lock cost more than the lock's bookkeeping.
 * Entries sit in a min-heap by due time; `cancel` is a flag, and cancelled entries are dropped at
 * the head or by compaction (memory stays proportional to live entries). An entry never fires
 * before its due time: the timer re-checks the clock and re-arms for what is left.
 */
export interface ExpiryEntry {
  /** Due time on the `performance.now()` clock. */
  readonly at: number;
  cancel(): void;
}

/** Compact once cancelled entries outnumber live ones by this much. */
const COMPACT_SLACK = 1024;

class Entry implements ExpiryEntry {
  fire: (() => void) | undefined;

  constructor(
    readonly at: number,
    fire: () => void,
    private readonly clock: ExpiryClock,
  ) {
    this.fire = fire;
  }

  cancel(): void {
    if (this.fire === undefined) return;
    this.fire = undefined;
    this.clock.cancelled();
  }
}

export class ExpiryClock {
  private heap: Entry[] = [];
  private dead = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  /** Live (not fired, not cancelled) entries. */
  get size(): number {
    return this.heap.length - this.dead;
  }

  /** Call `fire` once `performance.now()` reaches `at`, unless cancelled first. */
  schedule(at: number, fire: () => void): ExpiryEntry {
    const entry = new Entry(at, fire, this);
    push(this.heap, entry);
    if (at < this.timerAt) this.arm(at);
    return entry;
  }

  /** @internal Counts a cancellation (compacting when the dead dominate). */
  cancelled(): void {
    this.dead++;
    if (this.dead > this.size + COMPACT_SLACK) {
      this.heap = this.heap.filter((e) => e.fire !== undefined);
      heapify(this.heap);
      this.dead = 0;
    }
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(at - performance.now())));
    // Like the per-lock timers it replaces: a held lock alone does not keep the process alive.
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    for (;;) {
      const head = this.heap[0];
      if (head === undefined) return;
      if (head.fire === undefined) {
        pop(this.heap);
        this.dead--;
        continue;
      }
      if (head.at > now) return this.arm(head.at);
      pop(this.heap);
      const fire = head.fire;
      head.fire = undefined;
      fire();
    }
  }
}

/** The process's clock (locks of every host share it). */
export const expiryClock = new ExpiryClock();

function push(heap: Entry[], entry: Entry): void {
  heap.push(entry);
  let i = heap.length - 1;
  while (i > 0) {
    const up = (i - 1) >> 1;
    if (heap[up]!.at <= entry.at) break;
    heap[i] = heap[up]!;
    i = up;
  }
  heap[i] = entry;
}

function pop(heap: Entry[]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  sift(heap, 0, last);
}

function sift(heap: Entry[], start: number, entry: Entry): void {
  let i = start;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= heap.length) break;
    if (child + 1 < heap.length && heap[child + 1]!.at < heap[child]!.at) child++;
    if (heap[child]!.at >= entry.at) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = entry;
}

function heapify(heap: Entry[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) sift(heap, i, heap[i]!);
}
