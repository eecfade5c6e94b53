import type { Responder } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { ValidationError } from '../errors/errors.js';
import { errorToWire } from '../errors/wire.js';
import { isThenable } from '../util/thenable.js';
import type { LocalRunner } from './local-runner.js';
import type { LocalProvider, Method } from './providers.js';
import type { ProviderTable } from './provider-table.js';
import { unavailable } from './rpc-errors.js';
import type { ReplyFrame, RequestFrame } from './wire.js';

/**
 * Answers RPC requests from other nodes with this node's providers. A request for a service or
 * method this node no longer offers is refused by throwing (the transport sends the error back
 * and the caller knows the method did not run, so it may try another provider); a method's own
 * outcome is replied as `{ v }` or `{ e }`.
 */
export function createResponder(
  table: ProviderTable,
  runner: LocalRunner,
  codec: Codec,
): Responder {
  let turn = 0;

  /** Encode a reply; a value that cannot be encoded (too large, a function) becomes its error. */
  const encodeReply = (reply: ReplyFrame): Uint8Array => {
    try {
      return codec.encode(reply, 'result', 'v');
    } catch (error) {
      return codec.encode({ e: errorToWire(error) });
    }
  };

  return (payload) => {
    const request = codec.decode(payload) as RequestFrame;
    if (
      typeof request !== 'object' ||
      request === null ||
      typeof request.s !== 'string' ||
      typeof request.m !== 'string' ||
      (request.p !== undefined && !Array.isArray(request.p)) ||
      typeof request.t !== 'number' ||
      !(request.t > 0) ||
      !Number.isFinite(request.t)
    ) {
      throw new ValidationError('Malformed RPC request frame.');
    }
    const locals = table.local.get(request.s);
    let provider: LocalProvider | undefined;
    let fn: Method | undefined;
    if (locals !== undefined) {
      // Round-robin among this node's providers that have the method.
      const start = turn++;
      for (let i = 0; i < locals.length && fn === undefined; i++) {
        provider = locals[(start + i) % locals.length]!;
        fn = provider.methods.get(request.m);
      }
    }
    if (provider === undefined || fn === undefined) throw unavailable(request.s);
    let result: unknown;
    try {
      result = runner.invoke(provider, fn, request.p);
    } catch (error) {
      return encodeReply({ e: errorToWire(error) });
    }
    // A sync method's reply leaves without a promise hop.
    if (!isThenable(result)) return encodeReply({ v: result });
    return runner.bound(provider, request.m, result, providerTimeout(request.t)).then(
      (value) => encodeReply({ v: value }),
      (error: unknown) => encodeReply({ e: errorToWire(error) }),
    );
  };
}

/**
 * The provider-side bound of a remote call: the time the caller had left when it sent the
 * request, counted from receipt and rounded up to 250 ms steps so the deadline scheduler keeps a
 * handful of duration queues, not one per request. The caller's own deadline fires first.
 */
function providerTimeout(remaining: number): number {
  return Math.ceil(remaining / 250) * 250;
}
