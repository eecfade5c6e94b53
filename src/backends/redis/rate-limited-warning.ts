import type { Logger } from 'pino';

/** Default interval between two log lines of one {@link RateLimitedWarning}. */
export const WARNING_INTERVAL_MS = 60_000;

/**
 * A warning that cannot flood the log: the first occurrence is logged (with its details, and
 * the error's message but no stack), later ones are only counted, and at most one summary line
 * per interval says how many there were. Garbage arriving at line rate costs one short line
 * per interval, not a stack trace per item.
 */
export class RateLimitedWarning {
  private lastLogged = -Infinity;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    /** The log message, the same for every occurrence. */
    private readonly message: string,
    private readonly intervalMs = WARNING_INTERVAL_MS,
  ) {}

  /** Record one occurrence; logged now or summarised later. */
  warn(details: Record<string, unknown> = {}, error?: unknown): void {
    const now = Date.now();
    if (now - this.lastLogged >= this.intervalMs && this.suppressed === 0) {
      this.lastLogged = now;
      this.logger.warn({ ...details, ...reason(error) }, this.message);
      return;
    }
    this.suppressed++;
    if (this.timer !== undefined) return;
    // One summary at the end of the interval (unref'd: never keeps a process alive).
    this.timer = setTimeout(
      () => this.summarise(),
      Math.max(0, this.lastLogged + this.intervalMs - now),
    );
    this.timer.unref();
  }

  /** Log the pending summary now (e.g. on close) and stop the timer. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed > 0) this.summarise();
  }

  private summarise(): void {
    this.timer = undefined;
    const count = this.suppressed;
    this.suppressed = 0;
    this.lastLogged = Date.now();
    if (count > 0)
      this.logger.warn({ count, intervalMs: this.intervalMs }, `${this.message} (x${count} more)`);
  }
}

function reason(error: unknown): Record<string, unknown> {
  if (error === undefined) return {};
  return { reason: error instanceof Error ? error.message : JSON.stringify(error) };
}
