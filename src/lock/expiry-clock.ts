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

import { heapPop, heapPush } from '../util/min-heap.js';

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
    heapPush(this.heap, entry);
    if (at < this.timerAt) this.arm(at);
    return entry;
  }

  /** @internal Counts a cancellation (compacting when the dead dominate). */
  cancelled(): void {
    this.dead++;
    if (this.dead > this.size + COMPACT_SLACK) {
      const live = this.heap.filter((e) => e.fire !== undefined);
      this.heap = [];
      for (const e of live) heapPush(this.heap, e);
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
        heapPop(this.heap);
        this.dead--;
        continue;
      }
      if (head.at > now) return this.arm(head.at);
      heapPop(this.heap);
      const fire = head.fire;
      head.fire = undefined;
      fire();
    }
  }
}

/** The process's clock (locks of every host share it). */
export const expiryClock = new ExpiryClock();
