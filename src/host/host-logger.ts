import { currentTraceId } from '../bus/current-trace.js';
import { pino, stdSerializers, type Logger } from 'pino';
import { ValidationError } from '../errors/errors.js';
import type { LogLevel } from './types.js';

/**
 * Serializers of the loggers Plugboard creates. A Plugboard error's message already says its
 * cause ("Plugin "x" failed to activate: no database"); pino's default `err` serializer appends
 * every cause's message again ("...: no database: no database"). `errWithCause` keeps the
 * message as is and nests the cause under `err.cause`. The host applies them to a logger it is
 * given too (through a child); use them for your own records: `pino({ serializers:
 * plugboardLogSerializers })`.
 */
export const plugboardLogSerializers: { readonly err: (error: Error) => Record<string, unknown> } =
  { err: stdSerializers.errWithCause };

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** True for a level name pino accepts (`silent` included). */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && LEVELS.includes(value);
}

/**
 * The host's root logger from its options: `false` is a silent logger; a given logger is used
 * through a child (with {@link plugboardLogSerializers}, at `logLevel` if given); otherwise pino at `logLevel`, else `PLUGBOARD_LOG_LEVEL`,
 * else `info`, with {@link plugboardLogSerializers}.
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
  if (logger === false) return pino({ level: 'silent', serializers: plugboardLogSerializers });

  if (logger !== undefined) {
    if (typeof logger !== 'object' || logger === null || typeof logger.child !== 'function') {
      throw new ValidationError('Host option "logger" must be a pino logger or false.', {
        details: { field: 'logger' },
      });
    }
    // A child, so that the host's records use Plugboard's serializers without changing the
    // caller's logger.
    const child = logger.child(
      {},
      {
        serializers: plugboardLogSerializers,
        ...(logLevel === undefined ? {} : { level: logLevel }),
      },
    );
    withTraceMixin(child);
    return child;
  }
  const fromEnv = process.env['PLUGBOARD_LOG_LEVEL'];
  if (logLevel === undefined && fromEnv !== undefined && fromEnv !== '' && !isLogLevel(fromEnv)) {
    throw new ValidationError(
      `PLUGBOARD_LOG_LEVEL must be one of ${LEVELS.join(', ')}; got ${JSON.stringify(fromEnv)}.`,
      { details: { field: 'PLUGBOARD_LOG_LEVEL' } },
    );
  }
  return pino({
    level: logLevel ?? (fromEnv || 'info'),
    serializers: plugboardLogSerializers,
    mixin: traceMixin,
  });
}

/**
 * The running work's trace id on every record (`traceId`), unless the record sets its own: what
 * a plugin logs while handling an event, a message or an RPC call names the trace.
 */
function traceMixin(): object {
  const traceId = currentTraceId();
  // A fresh object: pino merges the record's fields into it.
  return traceId === undefined ? {} : { traceId };
}

/**
 * Give `child` (of a logger the application passed) the trace mixin, after the application's
 * own mixin if it has one. pino offers no child option for it, so the mixin is set through
 * pino's exported symbol on the child alone (the application's logger is not changed).
 */
function withTraceMixin(child: Logger): void {
  const key = pino.symbols.mixinSym;
  const own = Reflect.get(child, key) as
    ((merge: object, level: number, logger: Logger) => object) | undefined;
  const mixin =
    typeof own === 'function'
      ? (merge: object, level: number, logger: Logger): object => ({
          ...traceMixin(),
          ...own(merge, level, logger),
        })
      : traceMixin;
  Object.defineProperty(child, key, { value: mixin, writable: true, configurable: true });
}
