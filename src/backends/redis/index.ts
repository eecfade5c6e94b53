import type { Backend } from '../ports.js';
import type { BackendEnvironment } from '../resolve.js';
import type { RedisBackendOption } from './options.js';
import { resolveSettings } from './options.js';
import { RedisBackend } from './redis-backend.js';

export { REDIS_DEFAULTS } from './options.js';

/**
 * Create the Redis backend of one host (not yet connected: `start()` connects and joins).
 * Loaded on demand by `resolveBackend`, so a memory-only application never loads ioredis.
 * @throws ValidationError for out-of-range options or a node id longer than 255 bytes.
 * @example
 * const backend = await createRedisBackend({ redis: 'redis://127.0.0.1:6379', namespace: 'shop' }, { nodeId, logger });
 * await backend.start();
 */
export function createRedisBackend(
  option: RedisBackendOption,
  env: BackendEnvironment,
): Promise<Backend> {
  try {
    return Promise.resolve(
      new RedisBackend(env.nodeId, resolveSettings(option), env.logger.child({ backend: 'redis' })),
    );
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
