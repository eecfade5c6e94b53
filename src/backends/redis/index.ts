import { BackendUnavailableError } from '../../errors/errors.js';
import type { Backend } from '../ports.js';
import type { BackendEnvironment, RedisBackendOption } from '../resolve.js';

// Placeholder until the Redis adapter lands (issue 3): refuses clearly instead of pretending.
export function createRedisBackend(option: RedisBackendOption, _env: BackendEnvironment): Promise<Backend> {
  return Promise.reject(new BackendUnavailableError(`The Redis backend is not available yet (asked for ${option.redis}).`));
}
