import type { Logger } from 'pino';
import { clusterBarrier } from '../backends/cluster-barrier.js';
import type { Backend, PortSubscription } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { ValidationError } from '../errors/errors.js';
import type { Deadlines } from '../util/deadlines.js';
import type { CallSeries } from '../metrics/series.js';
import { assertName } from '../util/names.js';
import type { WorkTracker } from '../util/work-tracker.js';
import { UNTIMED } from './call-meter.js';
import { RPC_TOPIC, RpcCaller } from './caller.js';
import { LocalRunner } from './local-runner.js';
import { ParityRunner } from './parity-runner.js';
import { ProviderTable, RPC_KIND } from './provider-table.js';
import { collectMethods, type LocalProvider, type ProviderAnnouncement } from './providers.js';
import { createResponder } from './responder.js';
import type { ServiceStatus, ServiceStatusCallback } from './types.js';

export interface RpcCoreOptions {
  backend: Backend;
  codec: Codec;
  deadlines: Deadlines;
  logger: Logger;
  /** Default call deadline, ms. */
  defaultTimeout: number;
  /** Calls awaiting an async result at once, before `BackpressureError`. */
  maxInFlight: number;
  /** Parity mode: local calls round-trip params, results and errors as remote ones do. */
  parity?: boolean;
  /** Counts and times calls per service method (none: no cost). */
  metrics?: { call(service: string, method: string): CallSeries };
}

/**
 * The per-host RPC engine, a composition of: the provider table (this node's providers and
 * those other nodes announce in the registry, see `provider-table.ts`), the caller (balancing
 * and failover, `caller.ts`), the responder (requests from other nodes, `responder.ts`) and the
 * runner that calls local methods under a deadline (`local-runner.ts`).
 */
export class RpcCore {
  private readonly table: ProviderTable;
  private readonly runner: LocalRunner;
  private readonly caller: RpcCaller;
  private readonly portSubscriptions: PortSubscription[] = [];
  private readonly nodeId: string;
  private readonly clustered: boolean;
  private seq = 0;

  constructor(private readonly options: RpcCoreOptions) {
    const { backend, codec, logger } = options;
    this.nodeId = backend.nodeId;
    this.clustered = backend.clustered;
    this.table = new ProviderTable({
      nodeId: this.nodeId,
      codec,
      logger,
      onRemoteGone: (id) => this.caller.providerGone(id),
    });
    this.runner =
      options.parity === true
        ? new ParityRunner(options.deadlines, options.maxInFlight, codec, this.nodeId)
        : new LocalRunner(options.deadlines, options.maxInFlight);
    this.caller = new RpcCaller({
      table: this.table,
      runner: this.runner,
      transport: this.clustered ? backend.transport : undefined,
      codec,
      defaultTimeout: options.defaultTimeout,
    });
  }

  async start(): Promise<void> {
    if (!this.clustered) return;
    const { transport, registry } = this.options.backend;
    const responder = createResponder(this.table, this.runner, this.options.codec);
    this.portSubscriptions.push(
      await transport.respond(RPC_TOPIC, responder),
      await this.table.watch(registry),
    );
  }

  async close(): Promise<void> {
    const subscriptions = this.portSubscriptions.splice(0);
    await Promise.allSettled(subscriptions.map((s) => s.close()));
  }

  get inFlightCalls(): number {
    return this.runner.inFlight;
  }

  get localProviderCount(): number {
    return this.table.localCount;
  }

  /**
   * Offer `implementation` as a provider of `service` (throws `ValidationError` at once for a bad
   * name or implementation, or when `owner` already provides `service`). Local callers can use it immediately; `ready` resolves once every
   * live node of the cluster routes to it: the registry entry is stored, then a cluster barrier
   * proves every other node has applied it.
   */
  register(
    owner: string,
    tracker: WorkTracker,
    service: string,
    implementation: unknown,
    idempotent: readonly string[] = [],
  ): { provider: LocalProvider; ready: Promise<void> } {
    assertName(service, 'Service name');
    const active = this.table.local.get(service)?.find((p) => p.owner === owner);
    if (active !== undefined) {
      throw new ValidationError(
        `Plugin "${owner}" already provides service "${service}" (registration ${active.id}); ` +
          'a plugin registers a service once. Unregister the first registration before ' +
          'registering it again, or put every method in one implementation.',
        { details: { service, pluginId: owner, registrationId: active.id } },
      );
    }
    const methods = collectMethods(service, implementation);
    for (const name of idempotent) {
      if (!methods.has(name)) {
        throw new ValidationError(
          `"${name}" is marked idempotent but "${service}" has no such method.`,
          { details: { service, method: name } },
        );
      }
    }
    const provider: LocalProvider = {
      local: true,
      id: `${this.nodeId}:r${++this.seq}`,
      owner,
      service,
      target: implementation as object,
      methods,
      idempotent: new Set(idempotent),
      tracker,
    };
    this.table.addLocal(provider);
    const ready = this.clustered ? this.announce(provider) : Promise.resolve();
    return { provider, ready };
  }

  /** Stop offering a provider: no new calls reach it (calls in flight finish). */
  async unregister(provider: LocalProvider): Promise<void> {
    if (!this.table.removeLocal(provider)) return;
    if (this.clustered) await this.options.backend.registry.remove(RPC_KIND, provider.id);
  }

  /**
   * Call `service.method(...params)` on a provider chosen as `RpcCaller` describes. Never throws:
   * every failure, bad arguments included, is a rejection.
   */
  call(
    caller: string,
    service: string,
    method: string,
    params: unknown,
    timeout: number | undefined,
    preferLocal?: boolean,
    traceId?: string,
  ): Promise<unknown> {
    const metrics = this.options.metrics;
    // A call refused for its names goes nowhere: it gets no label (bad names would fill the cap).
    if (metrics === undefined || !labelable(service, method))
      return this.caller.call(caller, service, method, params, timeout, preferLocal, traceId);
    // Counted here; failed and timed (1 in SAMPLE_EVERY) where the outcome is known.
    const series = metrics.call(service, method);
    const started = series.call() ? performance.now() : UNTIMED;
    return this.caller.call(
      caller,
      service,
      method,
      params,
      timeout,
      preferLocal,
      traceId,
      series,
      started,
    );
  }

  subscribeService(service: string, callback: ServiceStatusCallback): () => void {
    return this.table.subscribe(service, callback);
  }

  status(service: string): ServiceStatus {
    return this.table.status(service);
  }

  /** Every known service (local and remote providers), by name. */
  services(): ServiceStatus[] {
    return this.table.services();
  }

  /** Is `service.method` idempotent at every provider that has it? */
  idempotent(service: string, method: string): boolean {
    return this.table.idempotent(service, method);
  }

  private async announce(provider: LocalProvider): Promise<void> {
    const { backend, codec, defaultTimeout } = this.options;
    const announcement: ProviderAnnouncement = {
      service: provider.service,
      pluginId: provider.owner,
      methods: [...provider.methods.keys()],
      idempotent: [...provider.idempotent],
    };
    await backend.registry.put(RPC_KIND, provider.id, codec.encode(announcement));
    await clusterBarrier(backend, Date.now() + defaultTimeout);
  }
}

/** Whether a call's names passed the caller's checks (a valid service name, a method name). */
function labelable(service: string, method: string): boolean {
  if (typeof method !== 'string' || method.length === 0) return false;
  try {
    assertName(service, 'Service name');
    return true;
  } catch {
    return false;
  }
}
