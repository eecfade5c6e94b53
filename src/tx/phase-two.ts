import { sleep } from '../util/sleep.js';
import type { Enlisted, Phase } from './participants.js';

/** First pause between phase-two attempts, ms; doubled up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 25;
const MAX_BACKOFF_MS = 1_000;
/** Attempts at an object participant's commit or rollback (it lives in this process). */
const OBJECT_ATTEMPTS = 3;

export interface PhaseTwoBounds {
  /** Stop retrying once this `performance.now()` time passes (named resources). */
  readonly until: number;
  /** Bound of each attempt, ms. */
  readonly attemptMs: number;
  /** The first attempt may repeat an earlier delivery (recovery, a catch-up). */
  readonly redelivered: boolean;
}

/** How one participant's phase two ended: acknowledged, or the last error when it gave up. */
export type Delivery = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/**
 * Deliver `phase` to one participant, retried with backoff until acknowledged: a named resource
 * until `bounds.until` (after that, recovery takes it over from the log), an object participant
 * {@link OBJECT_ATTEMPTS} times. Never rejects.
 */
export async function deliver(
  participant: Enlisted,
  phase: Phase,
  bounds: PhaseTwoBounds,
): Promise<Delivery> {
  let backoff = FIRST_BACKOFF_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await participant.finish(phase, bounds.redelivered || attempt > 1, bounds.attemptMs);
      return { ok: true };
    } catch (error) {
      const named = participant.index !== undefined;
      const giveUp = named
        ? performance.now() + backoff > bounds.until
        : attempt >= OBJECT_ATTEMPTS;
      if (giveUp) return { ok: false, error };
    }
    await sleep(backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}
