import { Option, type Command } from 'commander';
import { pino, type Logger } from 'pino';
import { hasErrorCode, isPlugboardError } from '../errors/errors.js';
import { isLogLevel } from '../host/host-logger.js';
import { createCliLogger, defaultLogFormat } from './cli-logger.js';
import { connectCluster, type ClusterClient } from './cluster-client.js';
import { resolveConfig, type ResolvedConfig } from './config.js';
import { processTerminal, table, type Terminal } from './terminal.js';

/** The options every cluster command takes. */
export interface ClusterFlags {
  redis?: string;
  namespace?: string;
  config?: string;
  json?: boolean;
}

/** Where a command runs: its terminal, environment and working directory (replaceable in tests). */
export interface CommandEnv {
  readonly terminal: Terminal;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export function processCommandEnv(): CommandEnv {
  return { terminal: processTerminal(), env: process.env, cwd: process.cwd() };
}

/** What every cluster command's `--help` ends with. */
const CONNECTION_HELP =
  '\nThe cluster is found with --redis/--namespace, else PLUGBOARD_REDIS/PLUGBOARD_NAMESPACE, else\n' +
  'plugboard.config.json in this folder (or --config <file>). The command joins as a short-lived\n' +
  'node with no plugins and leaves cleanly. Exit code 0 on success, 1 on failure (the reason on stderr).';

/** Add `--redis`, `--namespace`, `--config` and `--json` and the shared help to `command`. */
export function clusterOptions(command: Command, example: string): Command {
  return command
    .option('--redis <url>', 'Redis of the cluster (default: PLUGBOARD_REDIS or the config file)')
    .option(
      '--namespace <ns>',
      'cluster namespace (default: PLUGBOARD_NAMESPACE, the config file, or "plugboard")',
    )
    .addOption(
      new Option('--config <file>', 'config file (default: ./plugboard.config.json when present)'),
    )
    .option('--json', 'print JSON for scripts (shapes in docs/cli.md)')
    .addHelpText('after', `\nExample:\n  ${example}\n${CONNECTION_HELP}`);
}

/**
 * Resolve the configuration, join the cluster (a progress line on a terminal meanwhile), run
 * `work`, and leave; resolves with the exit code. Every failure is one line on stderr: which
 * setting is wrong and where it came from, or why the cluster could not be joined.
 */
export async function withCluster(
  flags: ClusterFlags,
  env: CommandEnv,
  work: (client: ClusterClient, config: ResolvedConfig) => Promise<number>,
): Promise<number> {
  const { terminal } = env;
  let config: ResolvedConfig;
  try {
    config = await resolveConfig({
      flags: { redis: flags.redis, namespace: flags.namespace },
      configFile: flags.config,
      env: env.env,
      cwd: env.cwd,
    });
  } catch (error) {
    terminal.err(`plugboard: ${describeError(error)}`);
    return 1;
  }
  const progress = terminal.progress('joining the cluster');
  let client: ClusterClient;
  try {
    client = await connectCluster(config.config, {
      logger: await commandLogger(env.env),
      onStep: (text) => progress.update(text),
    });
  } catch (error) {
    progress.stop();
    terminal.err(`plugboard: ${describeError(error)}`);
    if (hasErrorCode(error, 'PB_BACKEND_UNAVAILABLE'))
      terminal.err(
        `  hint: check that Redis runs there (redis-cli -u <url> ping) and that the address is right (${sourceOf(config, 'redis')}).`,
      );
    return 1;
  }
  progress.stop();
  try {
    return await work(client, config);
  } catch (error) {
    terminal.err(`plugboard: ${describeError(error)}`);
    return 1;
  } finally {
    await client
      .close()
      .catch((error: unknown) =>
        terminal.err(`plugboard: leaving the cluster failed: ${describeError(error)}`),
      );
  }
}

/** Where a setting came from, in words. */
function sourceOf(config: ResolvedConfig, field: 'redis'): string {
  switch (config.sources[field]) {
    case 'flag':
      return `--${field}`;
    case 'env':
      return 'PLUGBOARD_REDIS';
    default:
      return config.file ?? 'the config file';
  }
}

/** Silent unless PLUGBOARD_LOG_LEVEL asks for the backend's logs (on stderr). */
async function commandLogger(env: NodeJS.ProcessEnv): Promise<Logger> {
  const level = env['PLUGBOARD_LOG_LEVEL'];
  if (!isLogLevel(level) || level === 'silent') return pino({ level: 'silent' });
  return createCliLogger(level, defaultLogFormat());
}

/** One line for a person: the message, and the stable code of a Plugboard error. */
export function describeError(error: unknown): string {
  if (isPlugboardError(error)) {
    // The code ends the first line: a message may go on below (a JSON error's caret line).
    const newline = error.message.indexOf('\n');
    return newline < 0
      ? `${error.message} [${error.code}]`
      : `${error.message.slice(0, newline)} [${error.code}]${error.message.slice(newline)}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Stable JSON for `--json` output (undefined becomes null, so every field is present). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v === undefined ? null : v));
}

/** How `printList` shows items to a person: a table, its first column highlighted. */
export interface ListView<T> {
  /** The line printed when there is no item. */
  readonly empty: string;
  readonly header: readonly string[];
  readonly row: (item: T) => readonly string[];
  /** Color of a cell other than the first column's (default: plain). */
  readonly color?: (item: T, column: number, text: string) => string | undefined;
}

/** `--json`: the items as one JSON array; otherwise a table, or `view.empty`. */
export function printList<T>(
  terminal: Terminal,
  flags: ClusterFlags,
  items: readonly T[],
  view: ListView<T>,
): void {
  if (flags.json === true) return terminal.out(toJson(items));
  if (items.length === 0) return terminal.out(view.empty);
  const { style } = terminal;
  terminal.out(
    table(style, view.header, items.map(view.row), (row, column, text) => {
      const painted = view.color?.(items[row]!, column, text);
      if (painted !== undefined) return painted;
      return column === 0 ? style.cyan(text) : text;
    }),
  );
}
