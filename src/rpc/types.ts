import type {
  MethodName,
  MethodParams,
  MethodResult,
  ServiceImplementation,
  ServiceProxy,
} from '../contracts/contracts.js';

export interface RegisterOptions {
  /**
   * Methods that are safe to run twice. A call to one of them may fail over to another
   * provider when its provider's node dies mid-call. Default: none.
   */
  idempotent?: readonly string[];
}

/** A live registration. `unregister()` is idempotent. */
export interface Registration {
  readonly id: string;
  readonly name: string;
  /** Resolves once the registration is visible to the whole cluster. */
  readonly ready: Promise<void>;
  unregister(): Promise<void>;
}

export interface RpcServer {
  /**
   * Provide `service` with the given methods (own function properties of `methods`). Several
   * plugins or nodes may provide the same service; calls are load-balanced among them.
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
  /** Deadline for this call, ms. Default: the host's `rpcTimeout` (10000). */
  timeout?: number;
}

/** A handle for a service-status subscription. */
export interface ServiceWatch {
  unsubscribe(): void;
}

export interface RpcClient {
  /**
   * Call `service.method(...params)` on some provider (local first, then round-robin across the
   * cluster). Rejects with `ServiceUnavailableError`, `MethodNotFoundError`, `TimeoutError`, or
   * the method's own error (same `name`, `message`, `code`).
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
  /** Be told now and on every change whether `service` has providers. */
  subscribeService(service: string, callback: ServiceStatusCallback): ServiceWatch;
  /** A typed proxy whose methods call the service. */
  proxy<S extends string>(service: S, options?: CallOptions): ServiceProxy<S>;
}
