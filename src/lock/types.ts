/** Public types of `context.lock`: distributed locks with fencing tokens. */

/** Options of {@link LockService.acquire}. All durations in ms. */
export interface AcquireOptions {
  /** How long the lock is held unless extended (default 30000). */
  ttl?: number;
  /** How long to wait for the lock before `LockTimeoutError` (default 10000; 0: one attempt). */
  waitTimeout?: number;
  /**
   * Fallback re-check while waiting (default 1000): a waiter tries again when the holder releases
   * (a notification), else after `min(retryInterval, the holder's remaining TTL)`.
   */
  retryInterval?: number;
  /** Renew the lock every `ttl / 3` until released; a refused renewal marks it lost (default false). */
  autoExtend?: boolean;
}

/** Options of {@link LockService.tryAcquire}. */
export interface TryAcquireOptions {
  /** How long the lock is held unless extended, ms (default 30000). */
  ttl?: number;
  /** Renew the lock every `ttl / 3` until released (default false). */
  autoExtend?: boolean;
}

/** A held lock. */
export interface Lock {
  readonly resource: string;
  /**
   * Strictly increasing per resource across the cluster (also across backend restarts): pass it
   * with every write to the protected resource, which refuses a token older than the last it saw.
   */
  readonly fencingToken: number;
  /**
   * When the lock expires unless extended (epoch ms). Measured from a clock read before the
   * request, so it is never later than the backend's own expiry.
   */
  readonly expiresAt: number;
  /** Aborts when the lock is lost (expired without extension, extension refused, backend lost it). */
  readonly signal: AbortSignal;
  /** Call `listener` once when the lock is lost (at once if it already is); returns an unsubscribe. */
  onLost(listener: (error: Error) => void): () => void;
  /**
   * Free the lock. A second call is a no-op.
   * @throws LockNotHeldError when the lock was lost before (someone else may hold it now).
   */
  release(): Promise<void>;
  /**
   * Keep the lock `ttl` ms from now (default: the ttl it was acquired with).
   * @throws LockNotHeldError when the lock was lost or released.
   */
  extend(ttl?: number): Promise<void>;
}

/** `context.lock`. */
export interface LockService {
  /**
   * Wait for `resource` (FIFO with the other waiters of the cluster) and hold it.
   * @throws LockTimeoutError when not granted within `waitTimeout`.
   * @throws ValidationError for a bad resource name or duration.
   */
  acquire(resource: string, options?: AcquireOptions): Promise<Lock>;
  /** Hold `resource` if it is free now (and nobody waits for it), else `null`. */
  tryAcquire(resource: string, options?: TryAcquireOptions): Promise<Lock | null>;
}
