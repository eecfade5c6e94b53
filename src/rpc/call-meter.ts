/**
 * How the RPC caller and runner count and time a call for metrics, where its outcome is known:
 * a failure is counted where its rejection is made, and a sampled call is timed where it
 * settles (a sync result at once), so no call adds a reaction to its result promise.
 */

/** A call's metrics series (`CallSeries`): its failure count and latency. */
export interface CallMeter {
  errors: number;
  readonly latency: { observe(seconds: number): void };
}

/** `started` of a call that is not timed. */
export const UNTIMED = -1;

/** The call succeeded: time it if it is sampled (`started` from `performance.now()`). */
export function meterDone(meter: CallMeter | undefined, started: number): void {
  if (meter !== undefined && started >= 0)
    meter.latency.observe((performance.now() - started) / 1000);
}

/** The call failed: count it, and time it if it is sampled. */
export function meterFailed(meter: CallMeter | undefined, started: number): void {
  if (meter === undefined) return;
  meter.errors++;
  if (started >= 0) meter.latency.observe((performance.now() - started) / 1000);
}
