import type { Clock } from './call-context.js';
import { RollingWindow } from './rolling-window.js';

/** The window a retry budget looks back over, ms. */
export const BUDGET_WINDOW_MS = 10_000;

/**
 * How many retries a policy may make: `ratio` of its calls over the last 10 s, plus
 * `minRetriesPerSecond` (so rare calls can still retry). When a dependency fails for everyone,
 * retries stop growing the load on it by more than that share.
 */
export class RetryBudget {
  private readonly window: RollingWindow;
  private readonly floor: number;

  constructor(
    private readonly ratio: number,
    minRetriesPerSecond: number,
    private readonly clock: Clock,
  ) {
    this.window = new RollingWindow(BUDGET_WINDOW_MS, clock.now());
    this.floor = minRetriesPerSecond * (BUDGET_WINDOW_MS / 1000);
  }

  /** A first attempt. */
  call(): void {
    this.window.add(this.clock.now(), false);
  }

  /** Take one retry from the budget; false when it is spent. */
  tryRetry(): boolean {
    const now = this.clock.now();
    this.window.roll(now);
    const retries = this.window.marked;
    const calls = this.window.calls - retries;
    if (retries >= calls * this.ratio + this.floor) return false;
    this.window.add(now, true);
    return true;
  }
}
