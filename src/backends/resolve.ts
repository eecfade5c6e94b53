import type { Logger } from 'pino';
import { ValidationError } from '../errors/errors.js';
import { MemoryBackend } from './memory/memory-backend.js';
import { MemoryNetwork } from './memory/memory-network.js';
import type { Backend } from './ports.js';

/** Options of the Redis backend, as given to `createHost({ backend })`. */
export interface RedisBackendOption {
  /** `redis://host:port/db` (or `rediss://`, or `redis+unix:///path/to.sock`). */
  redis: string;
  /** Key and channel prefix; hosts with the same Redis and namespace form one cluster. Default `plugboard`. */
  namespace?: string;
  /** How long a node stays in the registry without proving it is alive, ms. Default 10000. */
  livenessTtl?: number;
  /** Fail operations fast with `BackendUnavailableError` past this many buffered while offline. Default 1000. */
  offlineQueueLimit?: number;
  /** Per-operation deadline for backend commands, ms. Default 5000. */
  operationTimeout?: number;
  /** Bytes of outgoing messages held (unsent, or sent and unanswered); past it, `BackpressureError`. Default 32 MiB. */
  maxPendingBytes?: number;
  /** Inbound message handlers running at once per node; past it, events are dropped (counted). Default 1000. */
  maxInboundHandlers?: number;
}

/**
 * Where a host's building blocks keep their state and talk to other hosts.
 * - `'memory'` (default): everything in this process.
 * - `{ memory: network }`: several in-process hosts sharing a {@link MemoryNetwork} form a cluster.
 * - `{ redis: url, namespace? }`: hosts sharing a Redis and namespace form a cluster.
 */
export type BackendOption = 'memory' | { memory: MemoryNetwork } | RedisBackendOption;

/** What every backend factory is given besides its own options. */
export interface BackendEnvironment {
  nodeId: string;
  logger: Logger;
}

/**
 * Build (not start) the backend a host's `backend` option names. Rejects with ValidationError for
 * an option it does not know; the Redis client is loaded only when a Redis backend is asked for.
 */
export async function resolveBackend(
  option: BackendOption | undefined,
  env: BackendEnvironment,
): Promise<Backend> {
  if (option === undefined || option === 'memory') return new MemoryBackend({ nodeId: env.nodeId });
  if (typeof option === 'object' && option !== null) {
    if ('memory' in option && option.memory instanceof MemoryNetwork) {
      return new MemoryBackend({ nodeId: env.nodeId, network: option.memory });
    }
    if ('redis' in option && typeof option.redis === 'string') {
      // Loaded on demand so a memory-only application never loads the Redis client.
      const { createRedisBackend } = await import('./redis/index.js');
      return createRedisBackend(option, env);
    }
  }
  throw new ValidationError(
    `Unknown backend option ${JSON.stringify(option)}; use 'memory' or { redis: 'redis://host:port', namespace }.`,
    { details: { field: 'backend' } },
  );
}
