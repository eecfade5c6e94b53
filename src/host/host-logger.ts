import { pino, type Logger } from 'pino';
import { ValidationError } from '../errors/errors.js';
import type { LogLevel } from './types.js';

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** True for a level name pino accepts (`silent` included). */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && LEVELS.includes(value);
}

/**
 * The host's root logger from its options: `false` is a silent logger; a given logger is used
 * as is (or a child at `logLevel`); otherwise pino at `logLevel`, else `PLUGBOARD_LOG_LEVEL`,
 * else `info`.
 * @throws ValidationError for a `logger` that is not a pino logger or `false`, or a level
 *   (option or environment variable) that is not a pino level.
 */
export function hostLogger(logger: Logger | false | undefined, logLevel: unknown): Logger {
  if (logLevel !== undefined && !isLogLevel(logLevel)) {
    throw new ValidationError(
      `Host option "logLevel" must be one of ${LEVELS.join(', ')}; got ${JSON.stringify(logLevel)}.`,
      { details: { field: 'logLevel' } },
    );
  }
  if (logger === false) return pino({ level: 'silent' });
  if (logger !== undefined) {
    if (typeof logger !== 'object' || logger === null || typeof logger.child !== 'function') {
      throw new ValidationError('Host option "logger" must be a pino logger or false.', {
        details: { field: 'logger' },
      });
    }
    return logLevel === undefined ? logger : logger.child({}, { level: logLevel });
  }
  const fromEnv = process.env['PLUGBOARD_LOG_LEVEL'];
  if (logLevel === undefined && fromEnv !== undefined && fromEnv !== '' && !isLogLevel(fromEnv)) {
    throw new ValidationError(
      `PLUGBOARD_LOG_LEVEL must be one of ${LEVELS.join(', ')}; got ${JSON.stringify(fromEnv)}.`,
      { details: { field: 'PLUGBOARD_LOG_LEVEL' } },
    );
  }
  return pino({ level: logLevel ?? (fromEnv || 'info') });
}
