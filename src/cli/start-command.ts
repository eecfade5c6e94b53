import type { Level } from 'pino';
import { redisAddress } from '../backends/redis/options.js';
import { isPlugboardError } from '../errors/errors.js';
import { createHost } from '../host/host.js';
import { isLogLevel } from '../host/host-logger.js';
import { formatTimeline } from '../host/timeline.js';
import type { Host } from '../host/types.js';
import { createCliLogger, defaultLogFormat, isLogFormat, type LogFormat } from './cli-logger.js';
import { describeError, describeNoPlugins, locatePlugins } from './folders.js';
import { resolveConfig, type CliConfig } from './config.js';
import { Narrator } from './narrator.js';
import { openDashboard } from './dashboard-option.js';
import { onStopSignal } from './signals.js';
import { backendFromConfig, hostOptionsFromConfig } from './start-config.js';
import { watchPlugins, type PluginWatcher } from './watch-plugins.js';

/** With --once, how long to let activation's follow-up work finish before stopping. */
const ONCE_IDLE_BOUND_MS = 30_000;

/** Options of `plugboard start`. */
export interface StartOptions {
  redis?: string;
  namespace?: string;
  nodeId?: string;
  /** Config file (default: ./plugboard.config.json when present); see `resolveConfig`. */
  config?: string;
  /** Stop after this many ms. */
  exitAfter?: number;
  /** Stop right after start. */
  once?: boolean;
  /** Print the lifecycle timeline after stopping. */
  timeline?: boolean;
  logLevel?: Level | 'silent';
  /** `json` or `pretty` logs on stderr (default: PLUGBOARD_LOG_FORMAT, else pretty on a TTY). */
  logFormat?: LogFormat;
  /** Fail (exit 1 before running) when any plugin does not start. */
  strictStart?: boolean;
  /** Reload a plugin when a file in its folder changes. */
  watch?: boolean;
  /** Deny every capability to plugins without a `permissions` list. */
  strictPermissions?: boolean;
  /** Serve the web dashboard on this port. */
  dashboard?: number;
  /** The dashboard's interface (default 127.0.0.1). */
  dashboardHost?: string;
  /** The dashboard's token (default: PLUGBOARD_DASHBOARD_TOKEN; generated beyond loopback). */
  dashboardToken?: string;
  /** Serve `GET /metrics` and `GET /health` on this port. */
  http?: number;
  /** Interface for `http` (default 127.0.0.1). */
  httpHost?: string;
}

/** Where the command writes and how it waits for signals (replaceable in tests). */
export interface StartIo {
  out(line: string): void;
  err(line: string): void;
  /** Call `handler` on each SIGINT/SIGTERM; returns a function that removes it. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
  /** Leave at once (second signal). */
  exit(code: number): never;
}

/** The real process: stdout, stderr, SIGINT/SIGTERM, process.exit. */
export const processIo: StartIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  onSignal: onStopSignal,
  exit: (code) => process.exit(code),
};

/**
 * `plugboard start <folder>`: run every plugin folder in `<folder>/plugins` (or `<folder>` when it
 * has no `plugins` subfolder) until SIGINT/SIGTERM, `--exit-after` or `--once`. Resolves with
 * the exit code: 0 when every plugin activated and stopped cleanly, 1 otherwise (also when the
 * folder holds no plugin folder: the message says when `<folder>` is itself a plugin).
 */
export async function runStart(
  folder: string,
  options: StartOptions,
  io: StartIo = processIo,
): Promise<number> {
  const located = locatePlugins(folder, (line) => io.err(line));
  if (located === undefined) return 1;
  const { root, pluginDirectory } = located;
  if (options.httpHost !== undefined && options.http === undefined) {
    io.err('plugboard: --http-host only applies with --http <port>.');
    return 1;
  }
  if (options.redis !== undefined) {
    try {
      redisAddress(options.redis);
    } catch (error) {
      io.err(`plugboard: ${describeError(error)}`);
      return 1;
    }
  }
  // Flags > PLUGBOARD_* environment variables > config file > defaults.
  let settings: CliConfig;
  try {
    ({ config: settings } = await resolveConfig({
      flags: { redis: options.redis, namespace: options.namespace, nodeId: options.nodeId },
      configFile: options.config,
    }));
  } catch (error) {
    io.err(`plugboard: ${describeError(error)}`);
    return 1;
  }
  // Checked on the merged settings: the Redis URL may come from PLUGBOARD_REDIS or the file.
  if (options.namespace !== undefined && settings.redis === undefined) {
    io.err(
      'plugboard: --namespace only applies with Redis (--redis <url>, PLUGBOARD_REDIS or "redis" in the config file).',
    );
    return 1;
  }
  const backend = backendFromConfig(settings);
  // --log-level is checked by commander; the variable is checked here, before pino sees it.
  const fromEnv = process.env['PLUGBOARD_LOG_LEVEL'];
  if (
    options.logLevel === undefined &&
    fromEnv !== undefined &&
    fromEnv !== '' &&
    !isLogLevel(fromEnv)
  ) {
    io.err(
      `plugboard: PLUGBOARD_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent; got ${JSON.stringify(fromEnv)}.`,
    );
    return 1;
  }
  const noPlugins = await describeNoPlugins(folder, root, pluginDirectory, 'start');
  if (noPlugins !== undefined) {
    io.err(`plugboard: ${noPlugins}`);
    return 1;
  }
  const formatFromEnv = process.env['PLUGBOARD_LOG_FORMAT'];
  if (
    options.logFormat === undefined &&
    formatFromEnv !== undefined &&
    formatFromEnv !== '' &&
    !isLogFormat(formatFromEnv)
  ) {
    io.err(
      `plugboard: PLUGBOARD_LOG_FORMAT must be json or pretty; got ${JSON.stringify(formatFromEnv)}.`,
    );
    return 1;
  }
  // Logs go to stderr (pretty on a terminal, JSON lines otherwise); stdout carries the narration.
  const logger = await createCliLogger(
    options.logLevel ?? (isLogLevel(fromEnv) ? fromEnv : 'warn'),
    options.logFormat ?? (isLogFormat(formatFromEnv) ? formatFromEnv : defaultLogFormat()),
    // JSON asked for by name feeds a log collector: it gets every record, narrated or not.
    (options.logFormat ?? formatFromEnv) === 'json',
  );

  let host: Host;
  try {
    host = await createHost({
      pluginDirectory,
      backend,
      logger,
      ...(options.strictStart === true ? { strictStart: true } : {}),
      ...hostOptionsFromConfig(settings),
      ...(options.strictPermissions === true ? { strictPermissions: true } : {}),
      ...(options.http === undefined
        ? {}
        : {
            http: {
              port: options.http,
              ...(options.httpHost === undefined ? {} : { host: options.httpHost }),
            },
          }),
    });
  } catch (error) {
    io.err(`plugboard: ${describeError(error)}`);
    return 1;
  }
  const narrator = new Narrator((line) => io.out(line));
  host.onLifecycle((event) => narrator.event(event));

  let stopRequested: (reason: string) => void = () => {};
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  let signals = 0;
  const removeSignalHandler = io.onSignal((signal) => {
    signals++;
    if (signals > 1) {
      io.err(`plugboard: ${signal} again, exiting without waiting.`);
      io.exit(130);
    }
    stopRequested(signal);
    // Stopping during start makes the host launch no further plugins.
    host
      .stop()
      .catch((error: unknown) => io.err(`plugboard: stop failed: ${describeError(error)}`));
  });

  let code = 0;
  let started = false;
  let closeDashboard: () => Promise<void> = () => Promise.resolve();
  let watcher: PluginWatcher | undefined;
  try {
    io.out(`plugboard: starting plugins from ${pluginDirectory}`);
    try {
      await host.start();
    } catch (error) {
      // The one line a person reads, and what to try next.
      io.err(`plugboard: could not start: ${describeError(error)}`);
      io.err(`  hint: ${hint(error, settings)}`);
      return 1;
    }
    started = true;
    const dashboard = await openDashboard(host, options, io);
    if (dashboard === null) return 1;
    if (dashboard !== undefined) closeDashboard = () => dashboard.close();
    const health = host.health();
    narrator.started(health);
    const http = host.httpAddress;
    if (http !== undefined)
      io.out(`plugboard: metrics at ${http.url}/metrics, health at ${http.url}/health`);
    if (!health.ok) code = 1;
    if (options.watch === true && signals === 0)
      watcher = watchPlugins(host, { out: (line) => io.out(line), err: (line) => io.err(line) });

    if (signals === 0) {
      if (options.once === true) {
        // Let work started during activation (background tasks, handlers) finish first.
        await host.idle(ONCE_IDLE_BOUND_MS);
        stopRequested('--once');
      } else if (options.exitAfter !== undefined) {
        io.out(`plugboard: running for ${options.exitAfter} ms (--exit-after).`);
        const timer = setTimeout(() => stopRequested('--exit-after'), options.exitAfter);
        void stopSignal.then(() => clearTimeout(timer));
      } else io.out('plugboard: running. Press Ctrl+C to stop.');
    }
    // Signal listeners do not keep Node alive, and an in-memory host may hold no handle at all.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const reason = await stopSignal;
    clearInterval(keepAlive);
    io.out(`plugboard: stopping (${reason})...`);
  } finally {
    await watcher?.close();
    const stopping = performance.now();
    await closeDashboard();
    await host.stop();
    const stopped = host.health();
    const unclean = Object.values(stopped.plugins).some(
      (p) => p.error?.code === 'PB_PLUGIN_DEACTIVATION' || p.unfinished.length > 0,
    );
    if (unclean) code = 1;
    // A failed start has released everything already: nothing to report about stopping.
    if (started) io.out(`plugboard: stopped in ${Math.round(performance.now() - stopping)} ms.`);
    if (options.timeline === true) io.out(`\nTimeline:\n${formatTimeline(host.timeline())}`);
    removeSignalHandler();
  }
  return code;
}

/** What to try after a failed start. */
function hint(error: unknown, options: CliConfig): string {
  const code = isPlugboardError(error) ? error.code : undefined;
  switch (code) {
    case 'PB_BACKEND_UNAVAILABLE':
      return options.redis === undefined
        ? 'run with --log-level debug to see each step.'
        : 'check that Redis runs at that address (redis-cli -u <url> ping), or leave out --redis to run in memory.';
    case 'PB_PLUGIN_START':
      return 'the lines above say why each plugin failed; without --strict-start the others would run.';
    case 'PB_DEPENDENCY_CYCLE':
    case 'PB_MISSING_DEPENDENCY':
    case 'PB_DEPENDENCY_VERSION':
    case 'PB_DUPLICATE_PLUGIN':
      return "fix the plugins' package.json dependencies; nothing was started.";
    case 'PB_INVALID_MANIFEST':
      return "fix the plugin's package.json (details name the field); nothing was started.";
    default:
      return 'run with --log-level debug for the stack trace.';
  }
}
