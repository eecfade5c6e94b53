import type { Deadlines } from '../util/deadlines.js';
import { isThenable } from '../util/thenable.js';
import type { LocalProvider, Method } from './providers.js';
import { meterDone, meterFailed, UNTIMED, type CallMeter } from './call-meter.js';
import { backpressure, callTimeout } from './rpc-errors.js';

/**
 * Runs methods of this node's providers, for local callers and for requests from other nodes,
 * and counts the calls awaiting an async result (remote calls of this node count too).
 */
export class LocalRunner {
  /** Calls awaiting an async result (local methods and requests to other nodes). */
  inFlight = 0;

  constructor(
    private readonly deadlines: Deadlines,
    readonly maxInFlight: number,
  ) {}

  /**
   * Run `fn` (a method of `provider`) and settle with its outcome. A sync result resolves at
   * once; an async one is bounded by `timeout` ms. The outcome goes to `meter`, if given (see
   * `call-meter.ts`; `started`: when a sampled call started, else `UNTIMED`).
   */
  run(
    provider: LocalProvider,
    fn: Method,
    method: string,
    params: unknown[] | undefined,
    timeout: number,
    meter?: CallMeter,
    started: number = UNTIMED,
  ): Promise<unknown> {
    let result: unknown;
    try {
      result = this.invoke(provider, fn, params);
    } catch (error) {
      meterFailed(meter, started);
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      if (started >= 0) meterDone(meter, started);
      return Promise.resolve(result);
    }
    return this.bound(provider, method, result, timeout, meter, started);
  }

  /**
   * Call `fn` and return what it returned (a value or a promise); throw what it threw, or
   * `BackpressureError` (checked before running, so a caller that retries after it never runs
   * the method twice).
   */
  invoke(provider: LocalProvider, fn: Method, params: unknown[] | undefined): unknown {
    if (this.inFlight >= this.maxInFlight) throw backpressure(this.maxInFlight);
    return params === undefined ? fn.call(provider.target) : fn.apply(provider.target, params);
  }

  /**
   * Bound an async method's result by `timeout` ms without a timer per call; its outcome (the
   * method's, or the timeout) goes to `meter`, if given.
   */
  bound(
    provider: LocalProvider,
    method: string,
    result: PromiseLike<unknown>,
    timeout: number,
    meter?: CallMeter,
    started: number = UNTIMED,
  ): Promise<unknown> {
    this.inFlight++;
    provider.tracker.begin();
    return new Promise((resolve, reject) => {
      const deadline = this.deadlines.add(timeout, () => {
        this.inFlight--;
        meterFailed(meter, started);
        reject(callTimeout(provider.service, method, timeout));
      });
      result.then(
        (value) => {
          provider.tracker.end();
          if (deadline.cancel()) {
            this.inFlight--;
            meterDone(meter, started);
            resolve(value);
          }
        },
        (error: unknown) => {
          provider.tracker.end();
          if (deadline.cancel()) {
            this.inFlight--;
            meterFailed(meter, started);
            reject(error);
          }
        },
      );
    });
  }
}
