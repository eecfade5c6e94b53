import { enterTrace, exitTrace, type TraceCarrier } from '../bus/current-trace.js';
import { SpanKind, startSpan, tracingOn, type WorkSpan } from '../trace/spans.js';
import { parseTrace } from '../trace/traceparent.js';
import { RPC_SYSTEM } from './caller.js';
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
    // The method runs on the caller's trace: what it publishes, sends, calls and logs keeps it.
    const carried = typeof request.r === 'string' ? parseTrace(request.r) : undefined;
    const span = tracingOn() ? serverSpan(request, provider, carried) : undefined;
    const previous = enterTrace(span ?? carried);
    let result: unknown;
    try {
      result = runner.invoke(provider, fn, request.p);
    } catch (error) {
      span?.end(true, error);
      return encodeReply({ e: errorToWire(error) });
    } finally {
      exitTrace(previous);
    }
    // A sync method's reply leaves without a promise hop.
    if (!isThenable(result)) {
      span?.end();
      return encodeReply({ v: result });
    }
    const bounded = runner.bound(provider, request.m, result, providerTimeout(request.t));
    span?.endWhen(bounded);
    return bounded.then(
      (value) => encodeReply({ v: value }),
      (error: unknown) => encodeReply({ e: errorToWire(error) }),
    );
  };
}

/** The server span of a request from another node, a child of the caller's client span. */
function serverSpan(
  request: RequestFrame,
  provider: LocalProvider,
  carried: TraceCarrier | undefined,
): WorkSpan | undefined {
  return startSpan(`${request.s}/${request.m}`, SpanKind.SERVER, carried, {
    'rpc.system': RPC_SYSTEM,
    'rpc.service': request.s,
    'rpc.method': request.m,
    'plugboard.plugin': provider.owner,
    'plugboard.caller': typeof request.c === 'string' ? request.c : '',
  });
}

/**
 * The provider-side bound of a remote call: the time the caller had left when it sent the
 * request, counted from receipt and rounded up to 250 ms steps so the deadline scheduler keeps a
 * handful of duration queues, not one per request. The caller's own deadline fires first.
 */
function providerTimeout(remaining: number): number {
  return Math.ceil(remaining / 250) * 250;
}
