import type { Logger } from 'pino';
import type { CommandRunner } from './connection.js';
import { isReplyError } from './faults.js';

/**
 * Warn when Redis may evict keys (`maxmemory-policy` other than `noeviction`): evicting a
 * registry or liveness key silently drops cluster state. Servers that refuse `CONFIG`
 * (managed Redis) are tolerated: nothing is logged above debug. The `CONFIG GET` goes through
 * the command runner like every command, so it settles by `deadline`.
 * Resolves with the policy, or undefined when it could not be read.
 * @throws TimeoutError or BackendUnavailableError when Redis does not answer by `deadline`
 *   (connected but silent, or gone): the caller's start fails rather than hang.
 */
export async function checkEvictionPolicy(
  runner: CommandRunner,
  logger: Logger,
  deadline?: number,
): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const reply: unknown = await runner.run(
      'read maxmemory-policy',
      (client) => client.config('GET', 'maxmemory-policy'),
      deadline,
    );
    if (Array.isArray(reply) && typeof reply[1] === 'string') policy = reply[1];
  } catch (error) {
    // Redis answered with an error (CONFIG renamed or refused): tolerated. No answer: fatal.
    if (!isReplyError(error)) throw error;
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
