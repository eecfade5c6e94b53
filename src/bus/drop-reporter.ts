import type { Logger } from 'pino';

/** At most one log line per this many ms, however many items are dropped. */
export const DROP_LOG_INTERVAL_MS = 5000;

/**
 * Counts dropped items (malformed frames from the backend) and logs them rate-limited: the first
 * drop logs at once, later ones are summed into one line per {@link DROP_LOG_INTERVAL_MS}, so a
 * flood of bad frames cannot flood the log.
 */
export class DropReporter {
  /** Every drop since this reporter was made. */
  total = 0;
  private unlogged = 0;
  private lastLog = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs = DROP_LOG_INTERVAL_MS,
  ) {}

  drop(error: unknown): void {
    this.total++;
    this.unlogged++;
    const wait = this.lastLog + this.intervalMs - Date.now();
    if (wait <= 0) this.flush(error);
    else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush(error);
      }, wait).unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(error: unknown): void {
    if (this.unlogged === 0) return;
    this.logger.warn({ err: error, dropped: this.unlogged, total: this.total }, this.message);
    this.unlogged = 0;
    this.lastLog = Date.now();
  }
}
