import type { Codec } from '../codec/codec.js';
import { errorToWire, wireToError } from '../errors/wire.js';
import type { Deadlines } from '../util/deadlines.js';
import { isThenable } from '../util/thenable.js';
import { meterDone, meterFailed, UNTIMED, type CallMeter } from './call-meter.js';
import { LocalRunner } from './local-runner.js';
import type { LocalProvider, Method } from './providers.js';

/**
 * The local runner in parity mode (host option `parity`): a call to a provider on this node
 * behaves as if the provider were on another node. The params are encoded before the method
 * runs (an unencodable or too-large request rejects with `SerializationError` or
 * `PayloadTooLargeError` and the method never runs) and the method gets its own decoded copy;
 * its result is encoded and decoded the same way (class instances arrive as plain objects), and
 * an error it throws is rebuilt as it would be from the wire (Plugboard errors as their class,
 * any other as an `Error` with the same `name`, `message` and `code`). Requests from other nodes
 * (`invoke`/`bound`) are unchanged: they crossed the wire already.
 */
export class ParityRunner extends LocalRunner {
  constructor(
    deadlines: Deadlines,
    maxInFlight: number,
    private readonly codec: Codec,
    private readonly nodeId: string,
  ) {
    super(deadlines, maxInFlight);
  }

  override run(
    provider: LocalProvider,
    fn: Method,
    method: string,
    params: unknown[] | undefined,
    timeout: number,
    meter?: CallMeter,
    started: number = UNTIMED,
  ): Promise<unknown> {
    let copy: unknown[] | undefined;
    let result: unknown;
    try {
      copy = params === undefined ? undefined : (this.roundTrip(params, 'params') as unknown[]);
      try {
        result = this.invoke(provider, fn, copy);
      } catch (error) {
        throw this.rebuild(error);
      }
    } catch (error) {
      meterFailed(meter, started);
      return Promise.reject(error);
    }
    if (!isThenable(result)) return this.settle(result, meter, started);
    return this.bound(provider, method, result, timeout).then(
      (value) => this.settle(value, meter, started),
      (error: unknown) => {
        meterFailed(meter, started);
        return Promise.reject(this.rebuild(error));
      },
    );
  }

  /** The result as the caller would receive it from another node. */
  private settle(value: unknown, meter: CallMeter | undefined, started: number): Promise<unknown> {
    let copy: unknown;
    try {
      copy = this.roundTrip(value, 'result');
    } catch (error) {
      meterFailed(meter, started);
      return Promise.reject(error);
    }
    meterDone(meter, started);
    return Promise.resolve(copy);
  }

  private roundTrip(value: unknown, field: 'params' | 'result'): unknown {
    return this.codec.decode(this.codec.encode(value, field));
  }

  private rebuild(error: unknown): Error {
    return wireToError(errorToWire(error), this.nodeId);
  }
}
