/**
 * Shared pieces of the message-queue fault tests: a host in this process whose one plugin hands
 * out its `messageQueue`, a tally of processed messages, and send loops that record exactly
 * which sends were acknowledged.
 */
import { after, before } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import type { RedisBackendOption } from '../../src/backends/redis/options.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host, HostOptions } from '../../src/host/types.js';
import type { MessageQueue } from '../../src/queue/message-types.js';
import { uniqueNamespace } from '../backends/redis/support.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

export { figure, uniqueNamespace } from '../backends/redis/support.js';
export { until } from '../conformance/harness.js';

/** A running host on Redis and its plugin's message queue. */
export interface QueueHost {
  readonly host: Host;
  readonly mq: MessageQueue;
  readonly context: PluginContext;
}

/**
 * Start a host on the Redis backend with one plugin, and hand back that plugin's
 * `messageQueue` (silent unless `options.logger` says otherwise).
 */
export async function startQueueHost(
  backend: RedisBackendOption,
  nodeId: string,
  options: Pick<HostOptions, 'logger' | 'deactivateTimeout' | 'stopTimeout' | 'limits'> = {},
): Promise<QueueHost> {
  let context: PluginContext | undefined;
  const probe = definePlugin({
    name: 'queue-probe',
    version: '1.0.0',
    activate(ctx) {
      context = ctx;
    },
  });
  const host = await createHost({ logger: false, ...options, plugins: [probe], nodeId, backend });
  await host.start();
  if (context === undefined) throw new Error(`host ${nodeId}: the probe plugin did not activate`);
  return { host, mq: context.messageQueue, context };
}

/** What {@link useQueueServer} sets up for a `describe` block. */
export interface QueueServerFixture {
  /** The namespace of the block's host. */
  readonly namespace: string;
  /** The block's throwaway redis-server (thawed, stopped and removed after the block). */
  readonly server: RedisServer;
  /** A plain client of that server, to write keys straight into Redis. */
  readonly raw: Redis;
  /** A host on that server whose plugin hands out its `messageQueue`. */
  readonly node: QueueHost;
}

/**
 * For the `describe` block it is called in: a throwaway redis-server, a raw client and one
 * queue host on it (started before the block's tests, all gone after them).
 */
export function useQueueServer(
  label: string,
  backend: Omit<RedisBackendOption, 'redis' | 'namespace'> = {},
  options: Parameters<typeof startQueueHost>[2] = {},
): QueueServerFixture {
  const namespace = uniqueNamespace(label);
  let server: RedisServer | undefined;
  let raw: Redis | undefined;
  let node: QueueHost | undefined;
  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
    node = await startQueueHost(
      { ...backend, redis: server.url, namespace },
      `${label}-node`,
      options,
    );
  });
  after(async () => {
    server?.resume();
    await node?.host.stop();
    raw?.disconnect();
    await server?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useQueueServer: used outside its tests');
    return value;
  };
  return {
    namespace,
    get server() {
      return ready(server);
    },
    get raw() {
      return ready(raw);
    },
    get node() {
      return ready(node);
    },
  };
}

/** Numbered messages: the sequence number says which send a delivery belongs to. */
export interface Numbered {
  readonly seq: number;
  readonly pad?: string;
}

/** What a send loop saw: which sends resolved, and how the others failed. */
export interface SendOutcome {
  /** Sequence numbers whose `send` resolved (acknowledged by the backend). */
  readonly acked: Set<number>;
  /** Sequence numbers whose `send` rejected (the message may or may not have been stored). */
  readonly failed: Set<number>;
  /** Rejections by error code (or name, for an error without a code). */
  readonly errors: Map<string, number>;
  /** Longest time one send took to settle, ms. */
  slowestMs: number;
}

/** An empty {@link SendOutcome} to fill. */
export function newOutcome(): SendOutcome {
  return { acked: new Set(), failed: new Set(), errors: new Map(), slowestMs: 0 };
}

/**
 * Send one numbered message and record how it went in `outcome`; never throws.
 * @returns whether the send was acknowledged.
 */
export async function sendOne(
  mq: MessageQueue,
  queue: string,
  seq: number,
  outcome: SendOutcome,
  pad?: string,
): Promise<boolean> {
  const started = Date.now();
  try {
    await mq.send<Numbered>(queue, pad === undefined ? { seq } : { seq, pad });
    outcome.acked.add(seq);
    return true;
  } catch (error) {
    outcome.failed.add(seq);
    const code = (error as { code?: string }).code ?? (error as Error).name;
    outcome.errors.set(code, (outcome.errors.get(code) ?? 0) + 1);
    return false;
  } finally {
    outcome.slowestMs = Math.max(outcome.slowestMs, Date.now() - started);
  }
}

/**
 * Send numbered messages from `parallel` loops while `more(seq)` says so, numbering from
 * `firstSeq`. Each loop awaits its send before the next, so at most `parallel` sends are
 * pending. Every outcome is recorded in `outcome`.
 * @returns the next unused sequence number.
 */
export async function sendLoop(
  mq: MessageQueue,
  queue: string,
  outcome: SendOutcome,
  options: {
    parallel: number;
    firstSeq: number;
    more: (seq: number) => boolean;
    pad?: string;
    /** Pause after each acknowledged send, ms (a paced sender; default none). */
    pauseMs?: number;
  },
): Promise<number> {
  let next = options.firstSeq;
  const loop = async (): Promise<void> => {
    while (options.more(next)) {
      // Back off a little after a refusal, as a real sender would: a send refused at once must
      // not turn this loop into a microtask spin that starves the reconnect it waits for.
      if (!(await sendOne(mq, queue, next++, outcome, options.pad))) await hold(10);
      else if (options.pauseMs !== undefined) await hold(options.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: options.parallel }, loop));
  return next;
}

/** `code × count` pairs of a send outcome, for a figure. */
export function errorSummary(outcome: SendOutcome): string {
  const parts = [...outcome.errors].map(([code, n]) => `${code} × ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** Sequence numbers in `expected` that are not in `seen`. */
export function missing(expected: Iterable<number>, seen: ReadonlySet<number>): number[] {
  return [...expected].filter((seq) => !seen.has(seq));
}

/** Per-message delivery counts kept in this process. */
export class Deliveries {
  readonly counts = new Map<number, number>();
  total = 0;
  add(seq: number): void {
    this.counts.set(seq, (this.counts.get(seq) ?? 0) + 1);
    this.total++;
  }
  has(seq: number): boolean {
    return this.counts.has(seq);
  }
  /** Deliveries beyond the first of each message. */
  get duplicates(): number {
    return this.total - this.counts.size;
  }
  get seen(): ReadonlySet<number> {
    return new Set(this.counts.keys());
  }
}

let gcFunction: (() => void) | undefined;

/** Heap in use after a full garbage collection, bytes (so growth figures are not GC noise). */
export function heapAfterGc(): number {
  if (gcFunction === undefined) {
    // The test runner does not pass --expose-gc; turning the flag on lets a new context see gc().
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
  return process.memoryUsage().heapUsed;
}

/** Resolve after `ms` (for a fault that lasts a set time, never to wait for an outcome). */
export const hold = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Whole mebibytes, one decimal. */
export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
