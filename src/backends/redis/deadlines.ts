/** A registered deadline; pass it back to {@link DeadlineTracker.cancel} once its work settled. */
export interface Deadline {
  readonly at: number;
  readonly onExpire: () => void;
}

/**
 * Enforces many deadlines with one timer. The timer is armed for the earliest deadline and
 * re-armed after each sweep, so settling work costs a `Set` delete and nothing else; with the
 * usual constant timeouts a sweep happens about once per timeout, not once per operation.
 */
export class DeadlineTracker {
  private readonly entries = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;

  /** Call `onExpire` at `at` (epoch ms) unless cancelled first. */
  add(at: number, onExpire: () => void): Deadline {
    const entry: Deadline = { at, onExpire };
    this.entries.add(entry);
    if (at < this.armedAt) this.arm(at);
    return entry;
  }

  /** Forget a deadline whose work settled. */
  cancel(entry: Deadline): void {
    this.entries.delete(entry);
  }

  /** Number of deadlines still armed. */
  get size(): number {
    return this.entries.size;
  }

  /** Expire every deadline now (used on close). */
  expireAll(): void {
    const all = [...this.entries];
    this.entries.clear();
    this.disarm();
    for (const entry of all) entry.onExpire();
  }

  private arm(at: number): void {
    this.disarm();
    if (at === Infinity) return;
    this.armedAt = at;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  private sweep(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    const expired: Deadline[] = [];
    let next = Infinity;
    for (const entry of this.entries) {
      if (entry.at <= now) expired.push(entry);
      else if (entry.at < next) next = entry.at;
    }
    for (const entry of expired) this.entries.delete(entry);
    this.arm(next);
    for (const entry of expired) entry.onExpire();
  }
}
