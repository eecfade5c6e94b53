import type {
  MethodName,
  MethodParams,
  MethodResult,
  ServiceImplementation,
  ServiceProxy,
} from '../contracts/contracts.js';

export interface RegisterOptions {
  /**
   * Methods that are safe to run twice. A call to one of them moves on to another provider when
   * its provider's node dies mid-call; a call to any other method then rejects at once with
   * `ServiceUnavailableError` (`details.mayHaveRun: true`). Default: none.
   */
  idempotent?: readonly string[];
}

/** A live registration. `unregister()` is idempotent. */
export interface Registration {
  readonly id: string;
  readonly name: string;
  /**
   * Resolves once the registration is in effect across the cluster: its registry entry is stored
   * and every live node has applied it, so a call from any node right after can reach it. Local
   * callers can reach it at once. Rejects if some live node did not confirm within the host's
   * `rpcTimeout`.
   */
  readonly ready: Promise<void>;
  unregister(): Promise<void>;
}

export interface RpcServer {
  /**
   * Provide `service` with the given methods (own function properties of `methods`). Several
   * plugins or nodes may provide the same service; calls are load-balanced among them. One
   * plugin provides a service once: registering a service name the plugin already provides
   * (its first registration not unregistered) throws `ValidationError`, since a second provider
   * in one plugin would only split its calls between two copies of itself. After
   * `unregister()`, the plugin may register the name again.
   */
  register<S extends string>(
    service: S,
    methods: ServiceImplementation<S>,
    options?: RegisterOptions,
  ): Registration;
}

/** One provider of a service, as seen by discovery. */
export interface ServiceInstanceInfo {
  readonly nodeId: string;
  readonly pluginId: string;
  readonly registrationId: string;
  readonly local: boolean;
  readonly methods: readonly string[];
}

export interface ServiceStatus {
  readonly service: string;
  readonly status: 'available' | 'unavailable';
  readonly instances: readonly ServiceInstanceInfo[];
}

export type ServiceStatusCallback = (status: ServiceStatus) => void;

export interface CallOptions {
  /**
   * Deadline for this call, ms. Default: the host's `rpcTimeout` (10000). It travels to the
   * provider as time remaining, so nodes' clocks need not agree.
   */
  timeout?: number;
  /**
   * Call a provider on this node when one has the method (round-robin among them), instead of
   * balancing across every provider in the cluster; other nodes' providers are used only when
   * no local one qualifies. Default: false.
   */
  preferLocal?: boolean;
  /**
   * The trace the call continues. Default: the running work's trace (an event handler's, a queue
   * message's, an RPC method's), which Plugboard knows until the work's first `await` (across
   * awaits too when tracing is on, see `HostOptions.tracing`); after an `await` without tracing,
   * pass `meta.traceId` / `message.traceId` / `currentTraceId()` taken before it. The provider,
   * on any node, runs the method on this trace.
   */
  traceId?: string;
}

/** Options of {@link RpcClient.waitForService}. */
export interface WaitForServiceOptions {
  /** Bound, ms. Default: the host's `rpcTimeout` (10000). */
  timeout?: number;
}

/** A handle for a service-status subscription. */
export interface ServiceWatch {
  unsubscribe(): void;
}

export interface RpcClient {
  /**
   * Call `service.method(...params)` on some provider: round-robin over every provider in the
   * cluster that has the method, this node's included (see `CallOptions.preferLocal`). A call
   * that never reached its provider (its node is gone) moves on to the next one. Never throws;
   * rejects with `ValidationError` (bad arguments), `ServiceUnavailableError` (no provider, or a
   * non-idempotent call whose provider's node left mid-call: `details.mayHaveRun`),
   * `MethodNotFoundError`, `TimeoutError`, `BackpressureError`, or the method's own error (same
   * class or `name`, `message`, `code`; its `stack` ends with the remote stack). A service with a
   * policy in `createHost({ resilience: { services } })` is called through it: also
   * `CircuitOpenError` and `BulkheadRejectedError`, and each attempt's deadline is at most the
   * policy's `timeout`; its retry repeats a call only when the method is idempotent or the call
   * never reached a provider.
   */
  call<S extends string, M extends MethodName<S>>(
    service: S,
    method: M,
    params?: MethodParams<S, M>,
    options?: CallOptions,
  ): Promise<MethodResult<S, M>>;
  /** `call` with an explicit deadline in ms. */
  callWithTimeout<S extends string, M extends MethodName<S>>(
    service: S,
    method: M,
    params: MethodParams<S, M> | undefined,
    timeout: number,
  ): Promise<MethodResult<S, M>>;
  /**
   * Resolves with the service's status once some provider of `service` is available, in this
   * node or another (at once if one is). Bounded: rejects with `TimeoutError` naming the service
   * past `timeout` (default: the host's `rpcTimeout`, 10 s), and with `ContextClosedError` if the
   * plugin stops first. Its status watch lasts only while waiting.
   */
  waitForService<S extends string>(
    service: S,
    options?: WaitForServiceOptions,
  ): Promise<ServiceStatus>;
  /** Be told now and on every change whether `service` has providers. */
  subscribeService(service: string, callback: ServiceStatusCallback): ServiceWatch;
  /** A typed proxy whose methods call the service (each returns a promise, like `call`). */
  proxy<S extends string>(service: S, options?: CallOptions): ServiceProxy<S>;
}
