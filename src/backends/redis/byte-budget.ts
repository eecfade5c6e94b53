import { BackpressureError } from '../../errors/errors.js';

/**
 * One bound on the bytes a Redis backend holds for Redis: frames of the transport's outbox and
 * payloads of queue commands, written or not, until Redis answers or the connection drops. A
 * frozen Redis keeps a "ready" connection, so without it every send a caller gave up on would
 * keep its payload in the client for as long as the freeze lasts.
 */
export class ByteBudget {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Bytes held now. */
  get pendingBytes(): number {
    return this.held;
  }

  /**
   * Take `bytes` and return their idempotent release.
   * @throws BackpressureError when taking them would pass the limit. One item is always
   *   accepted when nothing is held, so an item larger than the limit is never stuck.
   */
  take(bytes: number, what: string): () => void {
    if (this.held > 0 && this.held + bytes > this.limit) {
      throw new BackpressureError(
        `Cannot ${what}: ${this.held} bytes already wait to be written to Redis or answered by it (maxPendingBytes ${this.limit}); Redis is slow or unreachable.`,
        // Refused before anything was written: retrying is safe.
        { details: { held: this.held, limit: this.limit, size: bytes, sent: false } },
      );
    }
    this.held += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= bytes;
    };
  }
}
