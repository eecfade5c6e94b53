import type { Logger } from 'pino';
import type { KeyUsageStore } from '../../backends/ports.js';
import { KeyExhaustedError } from '../../errors/errors.js';
import type { EncryptionSettings } from './key-config.js';

/** Uses of one key version: counted here, added to the cluster-wide count in batches. */
interface Count {
  readonly keyId: string;
  readonly version: number;
  /** Uses not yet sent to the store. */
  pending: number;
  /** Uses sent and not answered yet. */
  sending: number;
  /** The cluster-wide total the store last answered. */
  known: number;
  warned: boolean;
  exhausted: boolean;
}

/**
 * The per-key-version usage count behind AES-GCM's safety limit (2^32 messages per key with
 * random nonces). Encrypt counts locally (no backend round trip); every `usageFlushEvery`
 * uses, every `usageFlushMs` and on close the local count is added to the cluster-wide one
 * (`KeyUsageStore.add`). A total at or past `usageWarnAt` logs a warning (once per version per
 * host); at `usageLimit` encrypt is refused with `KeyExhaustedError` until a newer version
 * exists. The first use of a version on a host is sent at once, so a host learns the total
 * early. What other nodes did since their last flush is not known yet: the limit is enforced
 * within `usageFlushEvery` × nodes uses, far below the margin between 2^32 and any real risk.
 * One entry per key version in use (at most `maxCachedKeys` idle ones); a failed flush keeps
 * its count (a number) for the next.
 */
export class UsageCounter {
  private readonly counts = new Map<string, Count>();
  private timer: NodeJS.Timeout | undefined;
  private readonly flushing = new Set<Promise<void>>();
  private failureLogged = false;
  private closing = false;

  constructor(
    private readonly store: KeyUsageStore,
    private readonly settings: EncryptionSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * Count one encryption under `keyId` version `version`.
   * @throws KeyExhaustedError when the version has reached the usage limit
   */
  use(keyId: string, version: number): void {
    const slot = `${version}:${keyId}`;
    let count = this.counts.get(slot);
    const first = count === undefined;
    if (count === undefined) {
      count = { keyId, version, pending: 0, sending: 0, known: 0, warned: false, exhausted: false };
      if (this.counts.size >= this.settings.maxCachedKeys) this.forgetIdle();
      this.counts.set(slot, count);
    }
    if (count.known + count.sending + count.pending >= this.settings.usageLimit) {
      throw new KeyExhaustedError(
        `Key "${keyId}" version ${version} has encrypted ${this.settings.usageLimit} values, the limit for one AES-GCM key with random nonces: publish or configure a newer version of the key (data under this one still decrypts).`,
        { details: { keyId, version, limit: this.settings.usageLimit } },
      );
    }
    count.pending += 1;
    if (count.sending > 0) return; // flushed when the batch on its way is answered, or later
    // The first use on this host is sent at once: the answer tells it the cluster's total.
    if (first || count.pending >= this.settings.usageFlushEvery) this.flush(count);
    else this.timer ??= setTimeout(() => this.flushAll(), this.settings.usageFlushMs).unref();
  }

  /**
   * Add every local count to the cluster-wide ones; resolves when they are answered (or after
   * a few failed rounds: the backend is gone, and what was not added is logged).
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (let round = 0; round < 3; round++) {
      await Promise.allSettled([...this.flushing]);
      if (![...this.counts.values()].some((count) => count.pending > 0)) return;
      this.flushAll();
    }
    await Promise.allSettled([...this.flushing]);
    for (const count of this.counts.values()) {
      if (count.pending > 0) {
        this.logger.warn(
          { keyId: count.keyId, version: count.version, uses: count.pending },
          'encryption key uses not added to the cluster-wide count: the backend did not answer',
        );
      }
    }
  }

  /** Drop the oldest entry with nothing to send (its total is learned again on its next flush). */
  private forgetIdle(): void {
    for (const [slot, count] of this.counts) {
      if (count.pending === 0 && count.sending === 0) {
        this.counts.delete(slot);
        return;
      }
    }
  }

  private flushAll(): void {
    this.timer = undefined;
    for (const count of this.counts.values()) {
      if (count.pending > 0 && count.sending === 0) this.flush(count);
    }
  }

  private flush(count: Count): void {
    const uses = count.pending;
    count.pending = 0;
    count.sending = uses;
    const done = this.store.add(count.keyId, count.version, uses).then(
      (total) => {
        count.sending = 0;
        count.known = Math.max(count.known, total);
        this.failureLogged = false;
        this.check(count);
        // Uses that came while this batch was on its way make the next one at once.
        if (count.pending >= this.settings.usageFlushEvery) this.flush(count);
      },
      (error: unknown) => {
        // Kept for the next flush: a count is one number whatever the outage lasts.
        count.sending = 0;
        count.pending += uses;
        if (!this.failureLogged) {
          this.failureLogged = true;
          this.logger.warn(
            { err: error, keyId: count.keyId, version: count.version },
            'could not add encryption key usage to the cluster-wide count; retrying',
          );
        }
      },
    );
    const tracked = done.finally(() => {
      this.flushing.delete(tracked);
      // A failed batch waits for the interval: no retry loop while the backend is away.
      if (count.pending > 0 && count.sending === 0 && !this.closing)
        this.timer ??= setTimeout(() => this.flushAll(), this.settings.usageFlushMs).unref();
    });
    this.flushing.add(tracked);
  }

  private check(count: Count): void {
    const { usageWarnAt, usageLimit } = this.settings;
    const details = {
      keyId: count.keyId,
      version: count.version,
      uses: count.known,
      limit: usageLimit,
    };
    if (count.known >= usageLimit && !count.exhausted) {
      count.exhausted = true;
      this.logger.error(
        details,
        'encryption key version reached its usage limit: encrypt is refused until a newer version exists',
      );
    } else if (count.known >= usageWarnAt && !count.warned) {
      count.warned = true;
      this.logger.warn(
        details,
        'encryption key version nears its usage limit (AES-GCM with random nonces): rotate the key',
      );
    }
  }
}
