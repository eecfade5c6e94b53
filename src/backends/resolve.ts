import type { Logger } from 'pino';
import { ValidationError } from '../errors/errors.js';
import { MemoryBackend, type MemoryBackendOption } from './memory/memory-backend.js';
import { MemoryNetwork } from './memory/memory-network.js';
import { DEFAULT_AUDIT_LOG } from './memory/memory-audit-store.js';
import { DEFAULT_TRANSACTION_LOG } from './memory/tx-log.js';
import type { Backend } from './ports.js';
import type { RedisBackendOption, RedisTlsOption } from './redis/options.js';

export type { MemoryBackendOption, RedisBackendOption, RedisTlsOption };

/**
 * Where a host's building blocks keep their state and talk to other hosts.
 * - `'memory'` (default): everything in this process.
 * - `{ memory: network }`: several in-process hosts sharing a {@link MemoryNetwork} form a cluster.
 * - `{ redis: url, namespace? }`: hosts sharing a Redis and namespace form a cluster.
 */
export type BackendOption = 'memory' | MemoryBackendOption | RedisBackendOption;

/** What every backend factory is given besides its own options. */
export interface BackendEnvironment {
  nodeId: string;
  logger: Logger;
  /** The embedded backend's transaction log file (`false`: in memory; undefined: the default). */
  transactionLog?: string | false | undefined;
  /** The embedded backend's audit log file (`false`: in memory; undefined: the default). */
  auditLog?: string | false | undefined;
}

/**
 * The lone embedded host's audit log: a file in production (`NODE_ENV=production`), kept in
 * memory otherwise (development hosts and tests start often, in parallel, in one folder).
 */
export function defaultAuditLog(): string | false {
  return process.env.NODE_ENV === 'production' ? DEFAULT_AUDIT_LOG : false;
}

/**
 * Build (not start) the backend a host's `backend` option names. Rejects with ValidationError for
 * an option it does not know; the Redis client is loaded only when a Redis backend is asked for.
 */
export async function resolveBackend(
  option: BackendOption | undefined,
  env: BackendEnvironment,
): Promise<Backend> {
  if (option === undefined || option === 'memory') {
    // Alone, the host's transaction log is durable by default (a file, opened on first use).
    return new MemoryBackend({
      nodeId: env.nodeId,
      transactionLog: env.transactionLog ?? DEFAULT_TRANSACTION_LOG,
      auditLog: env.auditLog ?? defaultAuditLog(),
      logger: env.logger,
    });
  }
  if (typeof option === 'object' && option !== null) {
    // A shared network keeps the log as it was created with (its `transactionLog` option).
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
    `Unknown backend option ${JSON.stringify(option, redactSecrets)}; use 'memory' or { redis: 'redis://host:port', namespace }.`,
    { details: { field: 'backend' } },
  );
}

/** Leaves secrets out of a backend option shown in an error. */
function redactSecrets(key: string, value: unknown): unknown {
  return key === 'clusterSecret' || key === 'tls' ? '[redacted]' : value;
}
