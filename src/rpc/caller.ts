import {
  currentTrace,
  enterTrace,
  exitTrace,
  explicitTrace,
  runInTrace,
  type TraceCarrier,
} from '../bus/current-trace.js';
import { SpanKind, startSpan, tracingOn } from '../trace/spans.js';
import { formatTrace } from '../trace/traceparent.js';
import type { Transport } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { hasErrorCode, ValidationError } from '../errors/errors.js';
import { wireToError } from '../errors/wire.js';
import { assertName } from '../util/names.js';
import { meterDone, meterFailed, UNTIMED, type CallMeter } from './call-meter.js';
import type { LocalRunner } from './local-runner.js';
import { hasMethod, type Provider, type RemoteProvider } from './providers.js';
import type { ProviderTable } from './provider-table.js';
import {
  callTimeout,
  methodNotFound,
  providerLost,
  unavailable,
  backpressure,
} from './rpc-errors.js';
import type { ReplyFrame, RequestFrame } from './wire.js';

/** `rpc.system` of Plugboard's RPC spans. */
export const RPC_SYSTEM = 'plugboard';

/** The transport topic of RPC requests. */
export const RPC_TOPIC = 'pb.rpc';

export interface RpcCallerOptions {
  table: ProviderTable;
  runner: LocalRunner;
  /** Absent on a lone host: only local providers exist. */
  transport: Transport | undefined;
  codec: Codec;
  /** Default call deadline, ms. */
  defaultTimeout: number;
}

/**
 * Makes calls: validates them, picks a provider and calls it, moving on when it must.
 *
 * - Balancing: round-robin over every provider in the cluster that has the method, this node's
 *   included. With `preferLocal`, a local provider that has the method is used when there is one.
 * - Fast path: when the only providers of the service are local, a call costs a map lookup and
 *   the method call (no clock read, no allocation but the settled promise).
 * - Metrics: given a `meter` (the method's metrics series), a call counts its failure where
 *   the rejection is made (validation, the local runner, the cluster path) and a sampled call is
 *   timed where it settles (`call-meter.ts`): no call adds a reaction to its result.
 * - Failover: a request that never reached its provider (node gone, or it no longer offers the
 *   service) moves to the next provider. When a provider's registry entry vanishes mid-call, a
 *   method registered as idempotent moves on; any other call rejects at once with
 *   `ServiceUnavailableError` (`details.mayHaveRun: true`).
 */
export class RpcCaller {
  /** Abandon callbacks of remote calls in flight, by provider id. */
  private readonly inFlightById = new Map<string, Set<() => void>>();
  private localTurn = 0;
  private turn = 0;

  constructor(private readonly options: RpcCallerOptions) {}

  call(
    caller: string,
    service: string,
    method: string,
    params: unknown,
    timeout: number | undefined,
    preferLocal: boolean | undefined,
    traceId?: string,
    meter?: CallMeter,
    started: number = UNTIMED,
  ): Promise<unknown> {
    let ms: number;
    try {
      ms = this.validate(service, method, params, timeout);
      if (traceId !== undefined) assertTraceId(traceId);
    } catch (error) {
      meterFailed(meter, started);
      return Promise.reject(error);
    }
    // The fast path: a local method runs synchronously in the running work's trace; a remote
    // call reads that trace before its first await.
    if (traceId === undefined && !tracingOn())
      return this.route(
        caller,
        service,
        method,
        params,
        ms,
        preferLocal,
        undefined,
        meter,
        started,
      );
    return this.callTraced(
      caller,
      service,
      method,
      params,
      ms,
      preferLocal,
      traceId,
      meter,
      started,
    );
  }

  /** A call with an explicit trace, or with tracing on: in a client span when spans are made. */
  private callTraced(
    caller: string,
    service: string,
    method: string,
    params: unknown,
    ms: number,
    preferLocal: boolean | undefined,
    traceId: string | undefined,
    meter: CallMeter | undefined,
    started: number,
  ): Promise<unknown> {
    const parent = traceId === undefined ? currentTrace() : explicitTrace(traceId);
    const span = tracingOn()
      ? startSpan(`${service}/${method}`, SpanKind.CLIENT, parent, {
          'rpc.system': RPC_SYSTEM,
          'rpc.service': service,
          'rpc.method': method,
          'plugboard.plugin': caller,
        })
      : undefined;
    if (span === undefined && traceId === undefined)
      return this.route(caller, service, method, params, ms, preferLocal, parent, meter, started);
    const carrier = span ?? parent;
    const previous = enterTrace(carrier);
    let result: Promise<unknown>;
    try {
      result = this.route(
        caller,
        service,
        method,
        params,
        ms,
        preferLocal,
        carrier,
        meter,
        started,
      );
    } finally {
      exitTrace(previous);
    }
    span?.endWhen(result);
    return result;
  }

  /** Call a local provider, or some provider in the cluster, on trace `trace`. */
  private route(
    caller: string,
    service: string,
    method: string,
    params: unknown,
    ms: number,
    preferLocal: boolean | undefined,
    trace: TraceCarrier | undefined,
    meter: CallMeter | undefined,
    started: number,
  ): Promise<unknown> {
    const { table } = this.options;
    const locals = table.local.get(service);
    const remotes = this.options.transport === undefined ? undefined : table.remote.get(service);
    if (locals !== undefined && (remotes === undefined || preferLocal === true)) {
      const provider = locals.length === 1 ? locals[0]! : locals[this.localTurn++ % locals.length]!;
      const fn = provider.methods.get(method);
      if (fn !== undefined) {
        const args = params as unknown[] | undefined;
        return this.options.runner.run(provider, fn, method, args, ms, meter, started);
      }
    } else if (remotes === undefined) {
      meterFailed(meter, started);
      return Promise.reject(unavailable(service));
    }
    const args = params as unknown[] | undefined;
    return this.callCluster(caller, service, method, args, ms, preferLocal, trace, meter, started);
  }

  /** A provider's registry entry vanished: calls in flight to it stop waiting for a reply. */
  providerGone(id: string): void {
    for (const abandon of this.inFlightById.get(id) ?? []) abandon();
  }

  /** Throw `ValidationError` for a malformed call; return its timeout in ms. */
  private validate(service: string, method: string, params: unknown, timeout: unknown): number {
    assertName(service, 'Service name');
    if (typeof method !== 'string' || method.length === 0) {
      throw new ValidationError(`Method name for "${service}" must be a non-empty string.`);
    }
    if (params !== undefined && !Array.isArray(params)) {
      throw new ValidationError(
        `Parameters of ${service}.${method} must be an array, e.g. [2, 3].`,
        { details: { service, method } },
      );
    }
    const ms = timeout ?? this.options.defaultTimeout;
    if (typeof ms !== 'number' || !(ms > 0) || !Number.isFinite(ms)) {
      const got = typeof ms === 'number' ? String(ms) : typeof ms;
      throw new ValidationError(`Timeout must be a positive number of ms, got ${got}.`);
    }
    return ms;
  }

  /**
   * Call some provider in the cluster that has the method, moving on while it is safe; the
   * outcome goes to `meter` once, here.
   */
  private async callCluster(
    caller: string,
    service: string,
    method: string,
    params: unknown[] | undefined,
    timeout: number,
    preferLocal: boolean | undefined,
    trace: TraceCarrier | undefined,
    meter: CallMeter | undefined,
    started: number,
  ): Promise<unknown> {
    trace ??= currentTrace(); // still synchronous: the caller's trace is the running one
    let value: unknown;
    try {
      value = await this.attempt(caller, service, method, params, timeout, preferLocal, trace);
    } catch (error) {
      meterFailed(meter, started);
      throw error;
    }
    meterDone(meter, started);
    return value;
  }

  /** The attempts of {@link callCluster}: providers in turn until one answers or none may. */
  private async attempt(
    caller: string,
    service: string,
    method: string,
    params: unknown[] | undefined,
    timeout: number,
    preferLocal: boolean | undefined,
    trace: TraceCarrier | undefined,
  ): Promise<unknown> {
    const deadline = Date.now() + timeout;
    // Providers already tried; made only when a call has to move on (most calls never do).
    let tried: Set<string> | undefined;
    for (;;) {
      const provider = this.pick(service, method, tried, preferLocal);
      if (provider === undefined) {
        const known = tried === undefined && this.offers(service);
        throw known ? methodNotFound(service, method) : unavailable(service);
      }
      const remaining = tried === undefined ? timeout : Math.max(1, deadline - Date.now());
      if (provider.local) {
        const fn = provider.methods.get(method)!;
        const { runner } = this.options;
        // After a failed remote attempt this runs past an await: enter the trace again.
        return await (trace === undefined
          ? runner.run(provider, fn, method, params, remaining)
          : runInTrace(trace, () => runner.run(provider, fn, method, params, remaining)));
      }
      // `t` is the time left, not a deadline: the provider's clock may differ from ours.
      const request: RequestFrame = { s: service, m: method, p: params, c: caller, t: remaining };
      if (trace !== undefined) request.r = formatTrace(trace);
      const bytes = this.options.codec.encode(request, 'params', 'p'); // refuses oversized payloads before sending
      (tried ??= new Set()).add(provider.id);
      let reply: Uint8Array;
      try {
        reply = await this.request(provider, bytes, deadline);
      } catch (error) {
        // Not delivered (node gone before it got the request): always safe to try another.
        if (hasErrorCode(error, 'PB_SERVICE_UNAVAILABLE') && Date.now() < deadline) continue;
        if (error === PROVIDER_GONE) {
          // Only idempotent methods may run twice; for others the outcome is unknown.
          if (!provider.idempotent.has(method))
            throw providerLost(service, method, provider.nodeId);
          if (Date.now() < deadline) continue;
          throw callTimeout(service, method, timeout);
        }
        if (hasErrorCode(error, 'PB_TIMEOUT')) throw callTimeout(service, method, timeout, error);
        throw error;
      }
      const frame = this.options.codec.decode(reply) as ReplyFrame;
      if ('e' in frame) throw wireToError(frame.e, provider.nodeId);
      return frame.v;
    }
  }

  /**
   * The next provider (round-robin over local and remote ones together) that has the method and
   * was not tried yet; with `preferLocal`, a local one first if any qualifies.
   */
  private pick(
    service: string,
    method: string,
    tried: ReadonlySet<string> | undefined,
    preferLocal: boolean | undefined,
  ): Provider | undefined {
    const locals = this.options.table.local.get(service) ?? NONE;
    const remotes =
      (this.options.transport === undefined ? undefined : this.options.table.remote.get(service)) ??
      NONE;
    const count = preferLocal === true ? locals.length : locals.length + remotes.length;
    const start = this.turn++;
    for (let i = 0; i < count; i++) {
      const k = (start + i) % count;
      const provider = k < locals.length ? locals[k]! : remotes[k - locals.length]!;
      if (tried?.has(provider.id) !== true && hasMethod(provider, method)) return provider;
    }
    return preferLocal === true ? this.pick(service, method, tried, false) : undefined;
  }

  private offers(service: string): boolean {
    return (
      this.options.table.local.has(service) ||
      (this.options.transport !== undefined && this.options.table.remote.has(service))
    );
  }

  /** The transport request, abandoned early when the provider's registry entry disappears. */
  private request(
    provider: RemoteProvider,
    bytes: Uint8Array,
    deadline: number,
  ): Promise<Uint8Array> {
    const { runner, transport } = this.options;
    if (runner.inFlight >= runner.maxInFlight)
      return Promise.reject(backpressure(runner.maxInFlight));
    runner.inFlight++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const id = provider.id;
      let pending = this.inFlightById.get(id);
      if (pending === undefined) this.inFlightById.set(id, (pending = new Set()));
      const done = (): void => {
        pending.delete(abandon);
        if (pending.size === 0 && this.inFlightById.get(id) === pending)
          this.inFlightById.delete(id);
      };
      // An abandoned request may still settle later; that outcome is ignored.
      const abandon = (): void => {
        done();
        reject(PROVIDER_GONE);
      };
      pending.add(abandon);
      transport!.request(provider.nodeId, RPC_TOPIC, bytes, deadline).then(
        (reply) => {
          done();
          resolve(reply);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    }).finally(() => runner.inFlight--);
  }
}

const NONE: readonly never[] = [];
const MAX_TRACE_ID_LENGTH = 512;

function assertTraceId(traceId: unknown): void {
  if (typeof traceId !== 'string' || traceId.length === 0 || traceId.length > MAX_TRACE_ID_LENGTH) {
    throw new ValidationError(
      `Call option "traceId" must be a string of 1 to ${MAX_TRACE_ID_LENGTH} characters.`,
      { details: { field: 'traceId' } },
    );
  }
}

/** Internal signal: the provider's registry entry vanished while a call to it was in flight. */
const PROVIDER_GONE = new Error('provider gone');
