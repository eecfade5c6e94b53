import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Backend, DeadLetter } from '../backends/ports.js';
import { redactUrl } from '../backends/redis/options.js';
import { resolveBackend } from '../backends/resolve.js';
import { createCodec, type Codec } from '../codec/codec.js';
import { createRuntime } from '../context/runtime.js';
import type { PluginContext, Runtime, ScopedContext } from '../context/types.js';
import { BackendUnavailableError, ValidationError } from '../errors/errors.js';
import { HOST_PLUGINS_KIND } from '../host/dependency-graph.js';
import { decodeEnvelope } from '../queue/message-envelope.js';
import { durableQueueName, parseDurableQueueName, workQueueName } from '../queue/queue-names.js';
import type { ProviderAnnouncement } from '../rpc/providers.js';
import { RPC_KIND } from '../rpc/provider-table.js';
import { withDeadline } from '../util/bound.js';
import type { CliConfig } from './config.js';

/** The plugin id the CLI's events and calls carry (`meta.source` of what `emit` publishes). */
export const CLI_CLIENT_ID = 'plugboard-cli';
/** Bound on joining the cluster when no `startTimeout` is configured. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Bound on releasing the client's subscriptions when leaving. */
const RELEASE_TIMEOUT_MS = 2_000;

/** A node of the cluster (`plugboard nodes --json`). */
export interface NodeInfo {
  readonly nodeId: string;
  /** Plugins the node's host announced (empty for a node that announced none). */
  readonly plugins: readonly string[];
  /** RPC services it provides. */
  readonly services: readonly string[];
}

/** An RPC service (`plugboard services --json`). */
export interface ServiceInfo {
  readonly name: string;
  /** Every method offered by some instance, sorted. */
  readonly methods: readonly string[];
  readonly instances: ReadonlyArray<{ id: string; nodeId: string; pluginId: string }>;
}

/** A queue's counts (`plugboard queues --json`). */
export interface QueueInfo {
  /** What to pass to `queues dead|replay|remove`: a work queue's name, or `<group>:<pattern>`. */
  readonly name: string;
  /** `work`: a `context.messageQueue` queue; `events`: the queue of a durable event group. */
  readonly kind: 'work' | 'events' | 'other';
  readonly group?: string;
  readonly pattern?: string;
  readonly waiting: number;
  readonly delayed: number;
  readonly inFlight: number;
  readonly dead: number;
}

/** A dead letter (`plugboard queues dead <queue> --json`). */
export interface DeadLetterInfo {
  readonly id: string;
  readonly reason: string;
  readonly attempt: number;
  readonly enqueuedAt: number;
  readonly deadAt: number;
  /** The event's name, for a durable event queue. */
  readonly event?: string;
  /** The message's data (undefined when it cannot be decoded). */
  readonly data: unknown;
}

/**
 * A short-lived member of the cluster with no plugins: the runtime itself over a Redis backend,
 * with one scoped context for the building blocks. `close()` leaves gracefully, so no registry
 * entry of it stays behind.
 */
export interface ClusterClient {
  readonly nodeId: string;
  readonly context: PluginContext;
  /** Live nodes of the cluster, command-line clients (`plugboard-cli-*`) left out. */
  nodes(): Promise<NodeInfo[]>;
  services(): Promise<ServiceInfo[]>;
  queues(): Promise<QueueInfo[]>;
  /** The queue named as `queues` lists it. @throws ValidationError naming the known queues. */
  queue(name: string): Promise<QueueInfo>;
  deadLetters(queue: string, limit: number): Promise<DeadLetterInfo[]>;
  /**
   * Move dead letters back to their queue (`ids` undefined: all, in one step), telling
   * `onProgress` after each id; resolves with how many moved and the ids not found.
   */
  replay(queue: string, ids?: readonly string[], onProgress?: Progress): Promise<Settled>;
  /** Drop dead letters for good (`ids` undefined: all), as {@link ClusterClient.replay}. */
  remove(queue: string, ids?: readonly string[], onProgress?: Progress): Promise<Settled>;
  close(): Promise<void>;
}

/** What `replay` and `remove` did. */
export interface Settled {
  readonly done: number;
  readonly missing: string[];
}

/** Told how many ids were handled so far. */
export type Progress = (handled: number) => void;

/** How to join: settings from {@link resolveConfig} and a logger for the backend. */
export interface ConnectOptions {
  readonly logger: Logger;
  /** Told of each step (for a progress line). */
  readonly onStep?: (text: string) => void;
}

/**
 * Join the cluster the configuration names.
 * @throws ValidationError when no Redis is configured; the backend's BackendUnavailableError
 * (naming the URL without its password) when it cannot connect within the start timeout.
 */
export async function connectCluster(
  config: CliConfig,
  options: ConnectOptions,
): Promise<ClusterClient> {
  if (config.redis === undefined) throw noRedis();
  const nodeId = `${CLI_CLIENT_ID}-${randomBytes(4).toString('hex')}`;
  const url = redactUrl(config.redis);
  const backend = await resolveBackend(
    {
      redis: config.redis,
      ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
      ...(config.livenessTtl === undefined ? {} : { livenessTtl: config.livenessTtl }),
      ...(config.operationTimeout === undefined
        ? {}
        : { operationTimeout: config.operationTimeout }),
    },
    { nodeId, logger: options.logger },
  );
  const runtime = createRuntime({
    backend,
    logger: options.logger,
    limits: {
      ...(config.rpcTimeout === undefined ? {} : { rpcTimeout: config.rpcTimeout }),
      ...(config.handlerTimeout === undefined ? {} : { handlerTimeout: config.handlerTimeout }),
    },
  });
  const timeoutMs = config.startTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
  options.onStep?.(`connecting to ${url}`);
  try {
    await withDeadline(
      runtime.start(),
      timeoutMs,
      () =>
        new BackendUnavailableError(
          `Could not join the cluster at ${url} within ${timeoutMs} ms; check that Redis runs there (redis-cli -u <url> ping).`,
          { details: { backend: 'redis', timeoutMs } },
        ),
    );
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }
  const scoped = runtime.createContext({
    name: CLI_CLIENT_ID,
    version: '0.0.0',
    permissions: undefined,
    options: {},
  });
  return new Client(nodeId, backend, runtime, scoped);
}

/** The error when neither `--redis`, `PLUGBOARD_REDIS` nor a config file names a Redis. */
export function noRedis(): ValidationError {
  return new ValidationError(
    'No Redis configured: give --redis redis://host:6379, set PLUGBOARD_REDIS, or put "redis" in plugboard.config.json (or the file named by --config).',
    { details: { field: 'redis' } },
  );
}

class Client implements ClusterClient {
  readonly context: PluginContext;
  private readonly codec: Codec = createCodec({ maxPayloadBytes: Number.POSITIVE_INFINITY });
  private closing: Promise<void> | undefined;

  constructor(
    readonly nodeId: string,
    private readonly backend: Backend,
    private readonly runtime: Runtime,
    private readonly scoped: ScopedContext,
  ) {
    this.context = scoped.context;
  }

  async nodes(): Promise<NodeInfo[]> {
    const [live, hosts, services] = await Promise.all([
      this.backend.registry.liveNodes(),
      this.backend.registry.list(HOST_PLUGINS_KIND),
      this.services(),
    ]);
    const plugins = new Map<string, string[]>();
    for (const record of hosts) {
      try {
        const value = JSON.parse(new TextDecoder().decode(record.value)) as { plugins?: unknown };
        if (Array.isArray(value.plugins))
          plugins.set(
            record.nodeId,
            value.plugins.filter((p) => typeof p === 'string'),
          );
      } catch {
        // An unreadable entry: the node is listed without its plugins.
      }
    }
    // Command-line clients (this one and any other running now) are not part of the application.
    return live
      .filter((id) => !id.startsWith(`${CLI_CLIENT_ID}-`))
      .sort(compare)
      .map((nodeId) => ({
        nodeId,
        plugins: plugins.get(nodeId) ?? [],
        services: services
          .filter((s) => s.instances.some((i) => i.nodeId === nodeId))
          .map((s) => s.name),
      }));
  }

  async services(): Promise<ServiceInfo[]> {
    const byName = new Map<
      string,
      { methods: Set<string>; instances: Array<{ id: string; nodeId: string; pluginId: string }> }
    >();
    for (const record of await this.backend.registry.list(RPC_KIND)) {
      let announcement: ProviderAnnouncement;
      try {
        announcement = this.codec.decode(record.value) as ProviderAnnouncement;
      } catch {
        continue;
      }
      if (typeof announcement?.service !== 'string') continue;
      let entry = byName.get(announcement.service);
      if (entry === undefined)
        byName.set(announcement.service, (entry = { methods: new Set(), instances: [] }));
      for (const method of announcement.methods ?? []) entry.methods.add(method);
      entry.instances.push({
        id: record.id,
        nodeId: record.nodeId,
        pluginId: announcement.pluginId,
      });
    }
    return [...byName]
      .sort(([a], [b]) => compare(a, b))
      .map(([name, entry]) => ({
        name,
        methods: [...entry.methods].sort(compare),
        instances: entry.instances.sort(
          (a, b) => compare(a.nodeId, b.nodeId) || compare(a.id, b.id),
        ),
      }));
  }

  async queues(): Promise<QueueInfo[]> {
    const store = this.backend.queues;
    const names = await store.queueNames();
    const out = await Promise.all(
      names.map(async (stored) => {
        const counts = await store.counts(stored);
        return {
          ...describeQueue(stored),
          waiting: counts.ready,
          delayed: counts.delayed,
          inFlight: counts.leased,
          dead: counts.dead,
        };
      }),
    );
    return out.sort((a, b) => compare(a.kind, b.kind) || compare(a.name, b.name));
  }

  async queue(name: string): Promise<QueueInfo> {
    const queues = await this.queues();
    const found =
      queues.find((q) => q.name === name && q.kind === 'work') ??
      queues.find((q) => q.name === name);
    if (found !== undefined) return found;
    throw new ValidationError(
      `No queue "${name}" in this cluster; ${
        queues.length === 0
          ? 'it has no queue yet'
          : `known: ${queues.map((q) => q.name).join(', ')}`
      }.`,
      { details: { queue: name, known: queues.map((q) => q.name) } },
    );
  }

  async deadLetters(queue: string, limit: number): Promise<DeadLetterInfo[]> {
    const info = await this.queue(queue);
    const letters = await this.backend.queues.deadLetters(storedName(info), limit);
    return letters.map((letter) => this.describeDeadLetter(info, letter));
  }

  replay(queue: string, ids?: readonly string[], onProgress?: Progress): Promise<Settled> {
    return this.settle(queue, ids, 'replay', onProgress);
  }

  remove(queue: string, ids?: readonly string[], onProgress?: Progress): Promise<Settled> {
    return this.settle(queue, ids, 'remove', onProgress);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.scoped.release(RELEASE_TIMEOUT_MS).catch(() => undefined);
      // Closing the runtime closes the backend: the graceful leave removes this node's entries.
      await this.runtime.close();
    })();
    return this.closing;
  }

  private async settle(
    queue: string,
    ids: readonly string[] | undefined,
    action: 'replay' | 'remove',
    onProgress: Progress | undefined,
  ): Promise<Settled> {
    const stored = storedName(await this.queue(queue));
    const store = this.backend.queues;
    if (ids === undefined) {
      const done =
        action === 'replay'
          ? await store.retryDeadLetters(stored)
          : await store.purgeDeadLetters(stored);
      return { done, missing: [] };
    }
    const missing: string[] = [];
    let done = 0;
    for (const id of ids) {
      const ok =
        action === 'replay'
          ? await store.retryDeadLetter(stored, id)
          : await store.removeDeadLetter(stored, id);
      if (ok) done++;
      else missing.push(id);
      onProgress?.(done + missing.length);
    }
    return { done, missing };
  }

  private describeDeadLetter(info: QueueInfo, letter: DeadLetter): DeadLetterInfo {
    const base = {
      id: letter.id,
      reason: letter.reason,
      attempt: letter.attempt,
      enqueuedAt: letter.enqueuedAt,
      deadAt: letter.deadAt,
    };
    try {
      if (info.kind === 'work')
        return { ...base, data: decodeEnvelope(this.codec, letter.payload).data };
      if (info.kind === 'events') {
        const frame = this.codec.decode(letter.payload) as { e?: unknown; d?: unknown };
        const data = frame.d instanceof Uint8Array ? this.codec.decode(frame.d) : undefined;
        return { ...base, ...(typeof frame.e === 'string' ? { event: frame.e } : {}), data };
      }
    } catch {
      // Undecodable: listed without its data.
    }
    return { ...base, data: undefined };
  }
}

/** How a stored queue name is shown and typed. */
function describeQueue(stored: string): Pick<QueueInfo, 'name' | 'kind' | 'group' | 'pattern'> {
  const work = workQueueName('');
  if (stored.startsWith(work)) return { name: stored.slice(work.length), kind: 'work' };
  const durable = parseDurableQueueName(stored);
  if (durable !== undefined)
    return { name: `${durable.group}:${durable.pattern}`, kind: 'events', ...durable };
  return { name: stored, kind: 'other' };
}

function storedName(info: QueueInfo): string {
  if (info.kind === 'work') return workQueueName(info.name);
  if (info.kind === 'events') return durableQueueName(info.group!, info.pattern!);
  return info.name;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
