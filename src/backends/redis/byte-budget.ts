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
   * Whether `bytes` more fit. One item always fits when nothing is held, so an item larger than
   * the limit is never stuck.
   */
  fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.limit;
  }

  /** The error for `bytes` that do not fit. */
  refusal(bytes: number, what: string): BackpressureError {
    return new BackpressureError(
      `Cannot ${what}: ${this.held} bytes already wait to be written to Redis or answered by it (maxPendingBytes ${this.limit}); Redis is slow or unreachable.`,
      // Refused before anything was written: retrying is safe.
      { details: { held: this.held, limit: this.limit, size: bytes, sent: false } },
    );
  }

  /** Count `bytes` as held (the caller checked {@link fits}, or holds them already). */
  add(bytes: number): void {
    this.held += bytes;
  }

  /** `bytes` added earlier are no longer held. */
  remove(bytes: number): void {
    this.held -= bytes;
  }

  /**
   * Take `bytes` and return their idempotent release.
   * @throws BackpressureError when they do not fit.
   */
  take(bytes: number, what: string): () => void {
    if (!this.fits(bytes)) throw this.refusal(bytes, what);
    this.add(bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.remove(bytes);
    };
  }
}
