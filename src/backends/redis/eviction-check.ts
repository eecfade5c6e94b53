import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Warn when Redis may evict keys (`maxmemory-policy` other than `noeviction`): evicting a
 * registry or liveness key silently drops cluster state. Servers that refuse `CONFIG`
 * (managed Redis) are tolerated: nothing is logged above debug.
 * Resolves with the policy, or undefined when it could not be read.
 */
export async function checkEvictionPolicy(
  client: Redis,
  logger: Logger,
): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const reply: unknown = await client.config('GET', 'maxmemory-policy');
    if (Array.isArray(reply) && typeof reply[1] === 'string') policy = reply[1];
  } catch (error) {
    logger.debug(
      { err: error },
      'Could not read maxmemory-policy (CONFIG refused); eviction policy unchecked',
    );
    return undefined;
  }
  if (policy !== undefined && policy !== 'noeviction') {
    logger.warn(
      { maxmemoryPolicy: policy },
      `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict Plugboard's registry and liveness keys. Set it to "noeviction".`,
    );
  }
  return policy;
}
