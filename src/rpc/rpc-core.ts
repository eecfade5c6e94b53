import type { Logger } from 'pino';
import type { Backend, PortSubscription } from '../backends/ports.js';
import { watchKind } from '../backends/watch-kind.js';
import type { Codec } from '../codec/codec.js';
import {
  BackpressureError,
  hasErrorCode,
  MethodNotFoundError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
} from '../errors/errors.js';
import { errorToWire, wireToError } from '../errors/wire.js';
import type { Deadlines } from '../util/deadlines.js';
import { isThenable } from '../util/thenable.js';
import { assertName } from '../util/names.js';
import type { WorkTracker } from '../util/work-tracker.js';
import {
  collectMethods,
  type LocalProvider,
  type ProviderAnnouncement,
  type RemoteProvider,
} from './providers.js';
import type { ServiceInstanceInfo, ServiceStatus, ServiceStatusCallback } from './types.js';
import type { ReplyFrame, RequestFrame } from './wire.js';

const RPC_TOPIC = 'pb.rpc';
const RPC_KIND = 'rpc';

export interface RpcCoreOptions {
  backend: Backend;
  codec: Codec;
  deadlines: Deadlines;
  logger: Logger;
  /** Default call deadline, ms. */
  defaultTimeout: number;
  /** Calls awaiting an async result at once, before `BackpressureError`. */
  maxInFlight: number;
}

/**
 * The per-host RPC engine. Local providers are called directly (a sync method costs a map
 * lookup and a call; an async one adds a deadline entry, not a timer). Remote providers are
 * learnt from the registry and called over the transport's request/reply; a call whose
 * provider is found gone before the request reached it moves to the next provider, and calls to
 * methods registered as idempotent also move on when the provider's node dies mid-call.
 */
export class RpcCore {
  private readonly local = new Map<string, LocalProvider[]>();
  private readonly remote = new Map<string, RemoteProvider[]>();
  private readonly remoteById = new Map<string, RemoteProvider>();
  private readonly watchers = new Map<string, Set<ServiceStatusCallback>>();
  /** Abandon callbacks of remote calls in flight, by provider record id. */
  private readonly inFlightByRecord = new Map<string, Set<() => void>>();
  private readonly portSubscriptions: PortSubscription[] = [];
  private readonly nodeId: string;
  private readonly clustered: boolean;
  private localTurn = 0;
  private remoteTurn = 0;
  private inFlight = 0;
  private seq = 0;

  constructor(private readonly options: RpcCoreOptions) {
    this.nodeId = options.backend.nodeId;
    this.clustered = options.backend.clustered;
  }

  async start(): Promise<void> {
    if (!this.clustered) return;
    const { transport, registry } = this.options.backend;
    this.portSubscriptions.push(
      await transport.respond(RPC_TOPIC, (payload) => this.serve(payload)),
      await watchKind(registry, RPC_KIND, (change) => {
        if (change.type === 'delete') this.removeRemote(change.id);
        else this.addRemote(change.record.id, change.record.nodeId, change.record.value);
      }),
    );
  }

  async close(): Promise<void> {
    const subscriptions = this.portSubscriptions.splice(0);
    await Promise.allSettled(subscriptions.map((s) => s.close()));
  }

  get inFlightCalls(): number {
    return this.inFlight;
  }

  get localProviderCount(): number {
    let n = 0;
    for (const list of this.local.values()) n += list.length;
    return n;
  }

  // ---- providers ------------------------------------------------------------------------------

  register(
    owner: string,
    tracker: WorkTracker,
    service: string,
    implementation: unknown,
    idempotent: readonly string[] = [],
  ): { provider: LocalProvider; ready: Promise<void> } {
    assertName(service, 'Service name');
    const methods = collectMethods(service, implementation);
    for (const name of idempotent) {
      if (!methods.has(name)) {
        throw new ValidationError(
          `"${name}" is marked idempotent but "${service}" has no such method.`,
          {
            details: { service, method: name },
          },
        );
      }
    }
    const provider: LocalProvider = {
      id: `${this.nodeId}:r${++this.seq}`,
      owner,
      service,
      target: implementation as object,
      methods,
      idempotent: new Set(idempotent),
      tracker,
    };
    const list = this.local.get(service);
    if (list === undefined) this.local.set(service, [provider]);
    else list.push(provider);
    this.notify(service);
    let ready: Promise<void> = Promise.resolve();
    if (this.clustered) {
      const announcement: ProviderAnnouncement = {
        service,
        pluginId: owner,
        methods: [...methods.keys()],
        idempotent: [...idempotent],
      };
      ready = this.options.backend.registry.put(
        RPC_KIND,
        provider.id,
        this.options.codec.encode(announcement),
      );
    }
    return { provider, ready };
  }

  /** Stop offering a provider: no new calls reach it (calls in flight finish). */
  async unregister(provider: LocalProvider): Promise<void> {
    const list = this.local.get(provider.service);
    const index = list?.indexOf(provider) ?? -1;
    if (list === undefined || index < 0) return;
    list.splice(index, 1);
    if (list.length === 0) this.local.delete(provider.service);
    this.notify(provider.service);
    if (this.clustered) await this.options.backend.registry.remove(RPC_KIND, provider.id);
  }

  // ---- calls ------------------------------------------------------------------------------------

  call(
    caller: string,
    service: string,
    method: string,
    params: unknown,
    timeout: number | undefined,
  ): Promise<unknown> {
    assertName(service, 'Service name');
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(
        new ValidationError(`Method name for "${service}" must be a non-empty string.`),
      );
    }
    if (params !== undefined && !Array.isArray(params)) {
      return Promise.reject(
        new ValidationError(`Parameters of ${service}.${method} must be an array, e.g. [2, 3].`, {
          details: { service, method },
        }),
      );
    }
    const ms = timeout ?? this.options.defaultTimeout;
    if (!(ms > 0) || !Number.isFinite(ms)) {
      return Promise.reject(
        new ValidationError(`Timeout must be a positive number of ms, got ${ms}.`),
      );
    }
    const locals = this.local.get(service);
    if (locals !== undefined) {
      const provider = locals.length === 1 ? locals[0]! : locals[this.localTurn++ % locals.length]!;
      return this.callLocal(provider, method, params, ms);
    }
    if (this.clustered && this.remote.has(service)) {
      return this.callRemote(caller, service, method, params, ms);
    }
    return Promise.reject(this.unavailable(service));
  }

  private callLocal(
    provider: LocalProvider,
    method: string,
    params: unknown[] | undefined,
    timeout: number,
  ): Promise<unknown> {
    let result: unknown;
    try {
      result = this.invoke(provider, method, params);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!isThenable(result)) return Promise.resolve(result);
    return this.awaitLocal(provider, method, result, timeout);
  }

  /**
   * Run a local method and return what it returned (a value or a promise); throw what it threw,
   * `MethodNotFoundError`, or `BackpressureError` (checked before running, so a caller that
   * retries after it never runs the method twice).
   */
  private invoke(provider: LocalProvider, method: string, params: unknown[] | undefined): unknown {
    const fn = provider.methods.get(method);
    if (fn === undefined) throw this.methodNotFound(provider.service, method);
    if (this.inFlight >= this.options.maxInFlight) throw this.backpressure();
    return params === undefined ? fn.call(provider.target) : fn.apply(provider.target, params);
  }

  /** Bound an async local method by the call's deadline without a timer per call. */
  private awaitLocal(
    provider: LocalProvider,
    method: string,
    result: PromiseLike<unknown>,
    timeout: number,
  ): Promise<unknown> {
    this.inFlight++;
    provider.tracker.begin();
    return new Promise((resolve, reject) => {
      const deadline = this.options.deadlines.add(timeout, () => {
        this.inFlight--;
        reject(this.timeout(provider.service, method, timeout));
      });
      result.then(
        (value) => {
          provider.tracker.end();
          if (deadline.cancel()) {
            this.inFlight--;
            resolve(value);
          }
        },
        (error: unknown) => {
          provider.tracker.end();
          if (deadline.cancel()) {
            this.inFlight--;
            reject(error);
          }
        },
      );
    });
  }

  private async callRemote(
    caller: string,
    service: string,
    method: string,
    params: unknown[] | undefined,
    timeout: number,
  ): Promise<unknown> {
    if (this.inFlight >= this.options.maxInFlight) throw this.backpressure();
    const deadline = Date.now() + timeout;
    const request: RequestFrame = { s: service, m: method, p: params, c: caller, t: deadline };
    const bytes = this.options.codec.encode(request); // refuses oversized payloads before sending
    this.inFlight++;
    // Providers already tried; made only when a call has to move on (most calls never do).
    let tried: Set<string> | undefined;
    try {
      for (;;) {
        const provider = this.pickRemote(service, tried);
        if (provider === undefined) throw this.unavailable(service);
        if (!provider.methods.includes(method)) throw this.methodNotFound(service, method);
        (tried ??= new Set()).add(provider.recordId);
        let reply: Uint8Array;
        try {
          reply = await this.requestProvider(provider, bytes, deadline);
        } catch (error) {
          // Not delivered (node gone before it got the request): always safe to try another.
          if (hasErrorCode(error, 'PB_SERVICE_UNAVAILABLE') && Date.now() < deadline) continue;
          // Provider vanished mid-call: only idempotent methods may run twice.
          if (error === PROVIDER_GONE) {
            if (provider.idempotent.has(method) && Date.now() < deadline) continue;
            return await this.waitOut(service, method, deadline);
          }
          if (hasErrorCode(error, 'PB_TIMEOUT'))
            throw this.timeout(service, method, timeout, error);
          throw error;
        }
        const frame = this.options.codec.decode(reply) as ReplyFrame;
        if ('e' in frame) throw wireToError(frame.e);
        return frame.v;
      }
    } finally {
      this.inFlight--;
    }
  }

  /** The transport request, abandoned early when the provider's registry entry disappears. */
  private requestProvider(
    provider: RemoteProvider,
    bytes: Uint8Array,
    deadline: number,
  ): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const id = provider.recordId;
      let pending = this.inFlightByRecord.get(id);
      if (pending === undefined) this.inFlightByRecord.set(id, (pending = new Set()));
      const done = (): void => {
        pending.delete(abandon);
        if (pending.size === 0 && this.inFlightByRecord.get(id) === pending)
          this.inFlightByRecord.delete(id);
      };
      // An abandoned request may still settle later; that outcome is ignored.
      const abandon = (): void => {
        done();
        reject(PROVIDER_GONE);
      };
      pending.add(abandon);
      this.options.backend.transport.request(provider.nodeId, RPC_TOPIC, bytes, deadline).then(
        (reply) => {
          done();
          resolve(reply);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }

  /** A non-idempotent call whose provider died: its outcome is unknown, so it ends at its deadline. */
  private waitOut(service: string, method: string, deadline: number): Promise<never> {
    return new Promise((_, reject) => {
      this.options.deadlines.add(Math.max(0, deadline - Date.now()), () =>
        reject(
          this.timeout(
            service,
            method,
            undefined,
            undefined,
            'its provider left the cluster during the call; it may or may not have run',
          ),
        ),
      );
    });
  }

  private pickRemote(
    service: string,
    tried: ReadonlySet<string> | undefined,
  ): RemoteProvider | undefined {
    const list = this.remote.get(service);
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) {
      const provider = list[this.remoteTurn++ % list.length]!;
      if (tried?.has(provider.recordId) !== true) return provider;
    }
    return undefined;
  }

  /** Answer a request from another node with a local provider. */
  private serve(payload: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const request = this.options.codec.decode(payload) as RequestFrame;
    if (
      typeof request !== 'object' ||
      request === null ||
      typeof request.s !== 'string' ||
      typeof request.m !== 'string' ||
      (request.p !== undefined && !Array.isArray(request.p)) ||
      !Number.isFinite(request.t)
    ) {
      throw new ValidationError('Malformed RPC request frame.');
    }
    const locals = this.local.get(request.s);
    // Thrown (not replied): the method did not run, so the caller may try another provider.
    if (locals === undefined) throw this.unavailable(request.s);
    const provider = locals[this.localTurn++ % locals.length]!;
    let result: unknown;
    try {
      result = this.invoke(provider, request.m, request.p);
    } catch (error) {
      return this.encodeReply({ e: errorToWire(error) });
    }
    // A sync method's reply leaves without a promise hop.
    if (!isThenable(result)) return this.encodeReply({ v: result });
    return this.awaitLocal(provider, request.m, result, serverTimeout(request.t)).then(
      (value) => this.encodeReply({ v: value }),
      (error: unknown) => this.encodeReply({ e: errorToWire(error) }),
    );
  }

  /** Encode a reply; a value that cannot be encoded (too large, a function) becomes its error. */
  private encodeReply(reply: ReplyFrame): Uint8Array {
    try {
      return this.options.codec.encode(reply);
    } catch (error) {
      return this.options.codec.encode({ e: errorToWire(error) });
    }
  }

  // ---- discovery of providers -------------------------------------------------------------------

  subscribeService(service: string, callback: ServiceStatusCallback): () => void {
    assertName(service, 'Service name');
    let set = this.watchers.get(service);
    if (set === undefined) this.watchers.set(service, (set = new Set()));
    set.add(callback);
    this.deliverStatus(callback, this.status(service));
    return () => {
      set.delete(callback);
      if (set.size === 0) this.watchers.delete(service);
    };
  }

  status(service: string): ServiceStatus {
    const instances: ServiceInstanceInfo[] = [];
    for (const p of this.local.get(service) ?? []) {
      instances.push({
        nodeId: this.nodeId,
        pluginId: p.owner,
        registrationId: p.id,
        local: true,
        methods: [...p.methods.keys()],
      });
    }
    for (const p of this.remote.get(service) ?? []) {
      instances.push({
        nodeId: p.nodeId,
        pluginId: p.pluginId,
        registrationId: p.recordId,
        local: false,
        methods: p.methods,
      });
    }
    return { service, status: instances.length > 0 ? 'available' : 'unavailable', instances };
  }

  private notify(service: string): void {
    const set = this.watchers.get(service);
    if (set === undefined) return;
    const status = this.status(service);
    for (const callback of set) this.deliverStatus(callback, status);
  }

  private deliverStatus(callback: ServiceStatusCallback, status: ServiceStatus): void {
    try {
      callback(status);
    } catch (error) {
      this.options.logger.error(
        { err: error, service: status.service },
        'service status callback failed',
      );
    }
  }

  private addRemote(recordId: string, nodeId: string, value: Uint8Array): void {
    if (nodeId === this.nodeId) return;
    let announcement: ProviderAnnouncement;
    try {
      announcement = this.options.codec.decode(value) as ProviderAnnouncement;
      assertName(announcement.service, 'Service name');
      const strings = (list: unknown): boolean =>
        Array.isArray(list) && list.every((m) => typeof m === 'string');
      if (
        typeof announcement.pluginId !== 'string' ||
        !strings(announcement.methods) ||
        !strings(announcement.idempotent)
      ) {
        throw new ValidationError('RPC provider entry has the wrong shape.');
      }
    } catch (error) {
      this.options.logger.warn({ err: error, recordId }, 'ignored a malformed RPC provider entry');
      return;
    }
    this.removeRemote(recordId, false);
    const provider: RemoteProvider = {
      recordId,
      nodeId,
      pluginId: announcement.pluginId,
      service: announcement.service,
      methods: announcement.methods,
      idempotent: new Set(announcement.idempotent),
    };
    this.remoteById.set(recordId, provider);
    const list = this.remote.get(provider.service);
    if (list === undefined) this.remote.set(provider.service, [provider]);
    else list.push(provider);
    this.notify(provider.service);
  }

  private removeRemote(recordId: string, abandonCalls = true): void {
    const provider = this.remoteById.get(recordId);
    if (provider === undefined) return;
    this.remoteById.delete(recordId);
    const list = this.remote.get(provider.service)!;
    list.splice(list.indexOf(provider), 1);
    if (list.length === 0) this.remote.delete(provider.service);
    if (abandonCalls) for (const abandon of this.inFlightByRecord.get(recordId) ?? []) abandon();
    this.notify(provider.service);
  }

  // ---- errors -------------------------------------------------------------------------------------

  private unavailable(service: string): ServiceUnavailableError {
    return new ServiceUnavailableError(
      `No provider of "${service}" is available; register it with rpcServer.register('${service}', ...) or wait for subscribeService to report it.`,
      { details: { service } },
    );
  }

  private methodNotFound(service: string, method: string): MethodNotFoundError {
    return new MethodNotFoundError(`Service "${service}" has no method "${method}".`, {
      details: { service, method },
    });
  }

  private timeout(
    service: string,
    method: string,
    ms: number | undefined,
    cause?: unknown,
    why?: string,
  ): TimeoutError {
    const reason = why ?? `no answer within ${ms ?? '?'} ms`;
    return new TimeoutError(`Call ${service}.${method} failed: ${reason}.`, {
      details: { service, method, timeout: ms },
      cause,
    });
  }

  private backpressure(): BackpressureError {
    return new BackpressureError(
      `More than ${this.options.maxInFlight} RPC calls are in flight on this host; retry later or raise limits.maxInFlightCalls.`,
      { details: { limit: this.options.maxInFlight } },
    );
  }
}

/** Internal signal: the provider's registry entry vanished while a call to it was in flight. */
/**
 * The provider-side bound of a remote call: the caller's remaining time, rounded up to 250 ms
 * steps so the deadline scheduler keeps a handful of duration queues, not one per request.
 */
function serverTimeout(deadline: number): number {
  const remaining = Math.max(1, deadline - Date.now());
  return Math.ceil(remaining / 250) * 250;
}

const PROVIDER_GONE = new Error('provider gone');
