import type { Logger } from 'pino';

/** Wait before saving again after a failed save. */
const RETRY_SAVE_MS = 500;

/**
 * Saves a durable watcher's cursor after each handled change, batched: one save in flight at a
 * time, each carrying the latest cursor, so a fast watcher writes once per round trip, not once
 * per change. After a crash the watcher resumes after the last saved cursor: the changes handled
 * during the last round trip may be delivered again (at-least-once for those few).
 */
export class CursorSaver {
  private saved = 0;
  private wanted = 0;
  private running: Promise<void> | undefined;
  private closing = false;
  /** Bumped by {@link startAt}: a write sent before it does not count as saved after it. */
  private generation = 0;

  constructor(
    private readonly write: (seq: number) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** The cursor as loaded (nothing to save yet). */
  startAt(seq: number): void {
    this.saved = this.wanted = seq;
    this.generation++;
  }

  save(seq: number): void {
    this.wanted = Math.max(this.wanted, seq);
    if (this.running === undefined && this.wanted > this.saved) this.running = this.loop();
  }

  /** Resolves once the latest cursor is saved (or one more attempt failed). */
  async flush(): Promise<void> {
    this.closing = true;
    await this.running;
    if (this.wanted > this.saved) await this.writeOnce();
  }

  /** Started only with something to save (so it awaits before its `finally`). */
  private async loop(): Promise<void> {
    try {
      while (this.wanted > this.saved) {
        if (!(await this.writeOnce())) {
          if (this.closing) return;
          await new Promise((resolve) => setTimeout(resolve, RETRY_SAVE_MS).unref());
        }
      }
    } finally {
      // Cleared in the same step as the last check: a save() after it starts a new loop.
      this.running = undefined;
    }
  }

  private async writeOnce(): Promise<boolean> {
    const seq = this.wanted;
    const generation = this.generation;
    try {
      await this.write(seq);
      if (generation === this.generation) this.saved = Math.max(this.saved, seq);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, seq }, 'Could not save a change-feed cursor; retrying');
      return false;
    }
  }
}
