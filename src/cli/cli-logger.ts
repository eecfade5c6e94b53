import { destination, pino, type Level, type Logger } from 'pino';
import { plugboardLogSerializers } from '../host/host-logger.js';

/** How the CLI writes its logs on stderr. */
export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** True for `json` or `pretty`. */
export function isLogFormat(value: unknown): value is LogFormat {
  return value === 'json' || value === 'pretty';
}

/**
 * The format when none is asked for (`--log-format`, `PLUGBOARD_LOG_FORMAT`): pretty when the
 * logs go to a terminal (stderr is a TTY), JSON lines otherwise (files, pipes, log collectors).
 */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY === true ? 'pretty' : 'json';
}

/**
 * The CLI's logger on stderr (fd 2, synchronous so nothing is lost at `process.exit`): JSON
 * lines, or pino-pretty's levelled, coloured lines.
 *
 * What the command narrates on stdout (a plugin failed, was skipped or left work running, a
 * partial start) is not logged again: a person sees each failure once. Every record is kept at
 * `debug` and `trace` (with stack traces), and with `complete` (JSON asked for explicitly, for
 * a log collector).
 */
export async function createCliLogger(
  level: Level | 'silent',
  format: LogFormat,
  complete = false,
): Promise<Logger> {
  const verbose = complete || level === 'debug' || level === 'trace';
  // pino-pretty takes ~100 ms to load: only when asked for.
  const stream =
    format === 'pretty'
      ? (await import('pino-pretty')).PinoPretty({
          destination: 2,
          sync: true,
          colorize: process.stderr.isTTY === true,
          translateTime: 'SYS:HH:MM:ss.l',
          // The narration names the node; errors still print their stack on the lines below.
          ignore: 'pid,hostname,component,nodeId',
          singleLine: true,
        })
      : destination({ fd: 2, sync: true });
  return pino(
    {
      level,
      serializers: plugboardLogSerializers,
      hooks: verbose
        ? {}
        : {
            logMethod(args, method) {
              if (!narrated(args[0])) method.apply(this, args);
            },
          },
    },
    stream,
  );
}

/** Error codes whose failures the narrator prints (`✗ ...`, `■ ... stopped (...)`). */
const NARRATED_CODES = new Set(['PB_PLUGIN_ACTIVATION', 'PB_PLUGIN_DEACTIVATION']);

/** True for a host record the narrator already tells a person (by its fields, not its text). */
function narrated(fields: unknown): boolean {
  if (typeof fields !== 'object' || fields === null) return false;
  const record = fields as Record<string, unknown>;
  if (typeof record['plugin'] === 'string') {
    const code = (record['err'] as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && NARRATED_CODES.has(code)) return true;
    // Skipped ("depends on ..., which failed") and "still had work running".
    if (record['err'] === undefined && ('reason' in record || 'unfinished' in record)) return true;
  }
  // The host's partial-start warning: the narrator's summary line says it.
  return Array.isArray(record['failed']) && Array.isArray(record['skipped']);
}
