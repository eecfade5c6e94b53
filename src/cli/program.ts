import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runInspect, type InspectOptions } from './inspect-command.js';
import { registerCallCommand } from './commands/call-command.js';
import { registerEmitCommand } from './commands/emit-command.js';
import { registerNodesCommand } from './commands/nodes-command.js';
import { registerQueuesCommand } from './commands/queues-command.js';
import { registerServicesCommand } from './commands/services-command.js';
import { registerTailCommand } from './commands/tail-command.js';
import { runNew, type NewOptions } from './new-command.js';
import { runStart, type StartOptions } from './start-command.js';

/** The `plugboard` command line. `parseAsync` runs the chosen command and sets `process.exitCode`. */
export function buildProgram(): Command {
  const program = new Command('plugboard')
    .description('Host plugins that talk to each other: event bus, RPC, discovery and more.')
    .version(packageVersion(), '-v, --version');

  program
    .command('start')
    .description(
      'Run every plugin folder in <folder>/plugins (or in <folder> itself) until stopped.',
    )
    .argument('<folder>', 'an application folder, or a folder of plugin folders')
    .option(
      '--redis <url>',
      'join a cluster through Redis (redis://[:password@]host:port[/db], rediss://... or redis+unix:///path.sock)',
    )
    .option('--namespace <ns>', 'cluster namespace on Redis (default "plugboard")')
    .option('--node-id <id>', "this node's id in the cluster (default: random)")
    .option(
      '--config <file>',
      'config file (default: ./plugboard.config.json when present); flags > PLUGBOARD_* env > file',
    )
    .addOption(
      new Option('--exit-after <ms>', 'stop after this many milliseconds')
        .argParser(parseDuration)
        .conflicts('once'),
    )
    .option('--once', 'stop right after every plugin has started (smoke test)')
    .option(
      '--timeline',
      'print the lifecycle timeline (who started when, for how long) after stopping',
    )
    .addOption(
      new Option(
        '--log-level <level>',
        'logs on stderr from this level (default: PLUGBOARD_LOG_LEVEL or warn)',
      ).choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'log format on stderr (default: PLUGBOARD_LOG_FORMAT, else pretty on a terminal, json otherwise); ' +
          'json asked for by name also logs what stdout already says',
      ).choices(['json', 'pretty']),
    )
    .addOption(
      new Option('--dashboard <port>', 'serve the web dashboard on this port').argParser(parsePort),
    )
    .option(
      '--dashboard-host <host>',
      'interface the dashboard listens on (default 127.0.0.1; beyond loopback a token is required)',
    )
    .option(
      '--dashboard-token <token>',
      'token the dashboard API requires (default: PLUGBOARD_DASHBOARD_TOKEN, else generated beyond loopback)',
    )
    .addOption(
      new Option(
        '--watch',
        'reload a plugin when a file in its folder changes (it and its dependents restart; the others keep running)',
      ).conflicts('once'),
    )
    .option(
      '--strict-permissions',
      'deny every capability to plugins that declare no permissions list (host option strictPermissions)',
    )
    .option(
      '--strict-start',
      'fail at once (exit 1, nothing keeps running) when any plugin does not start',
    )
    .addOption(
      new Option(
        '--http <port>',
        'serve GET /metrics (Prometheus) and GET /health (JSON) on this port',
      ).argParser(parsePort),
    )
    .option('--http-host <host>', 'interface for --http (default 127.0.0.1)')
    .addHelpText(
      'after',
      '\nExits with 1 when a plugin failed to start or to stop cleanly. SIGINT/SIGTERM stop the host\n' +
        'gracefully; a second signal exits at once. Without --strict-start, plugins that did not\n' +
        'start are listed and the others keep running. A failed start prints one line saying why\n' +
        '(and a hint); --log-level debug adds every log record with its stack trace.',
    )
    .action(async (folder: string, options: StartOptions) => {
      process.exitCode = await runStart(folder, options);
    });

  program
    .command('inspect')
    .description(
      "Show the plugins `start` would run from <folder>: each one's capabilities and dependencies, and the activation order. Starts nothing.",
    )
    .argument('<folder>', 'an application folder, or a folder of plugin folders')
    .option('--json', 'print one JSON document (for scripts; shape below)')
    .option('--no-color', 'no colours (they are used only when stdout is a terminal)')
    .addHelpText(
      'after',
      '\nLoads each plugin folder as `plugboard start` does (its main module is imported) but\n' +
        'activates nothing and opens no backend. Exits with 1 when the folder holds no plugin, a\n' +
        'package.json is invalid, or the dependencies do not resolve (a cycle, a missing plugin, a\n' +
        'version outside the range): the problem is printed.\n\n' +
        'JSON (--json, "format": 1): { format, folder, ok, levels: string[][] | null,\n' +
        '  error: { code, message, details } | null, plugins: [{ name, version, source,\n' +
        '  permissions: string[] | null (null: none declared), level: number | null,\n' +
        '  dependencies: [{ name, range, resolved: string | null, status: "ok" | "missing" |\n' +
        '  "version" }], npmDependencies: { name: range }, dependents: string[] | null }] }',
    )
    .action(async (folder: string, options: InspectOptions) => {
      process.exitCode = await runInspect(folder, options);
    });
  registerNodesCommand(program);
  registerServicesCommand(program);
  registerCallCommand(program);
  registerEmitCommand(program);
  registerTailCommand(program);
  registerQueuesCommand(program);

  program
    .command('new')
    .description(
      'Create a plugin folder (package.json, index.js, a test, a README) that passes its own test.',
    )
    .argument('<name>', 'the plugin name, e.g. greeter-plugin')
    .option('--dir <folder>', 'where to create it (default: ./plugins when it exists, else .)')
    .option('--json', 'print what was created as JSON')
    .addHelpText(
      'after',
      '\nThe folder is named after the plugin (a scope\'s "@" dropped, "/" and ":" as "-"); an existing,\n' +
        'non-empty folder is never overwritten. Run its test with `node --test` in the folder.',
    )
    .action(async (name: string, options: NewOptions) => {
      process.exitCode = await runNew(name, options);
    });

  return program;
}

function parseDuration(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0)
    throw new InvalidArgumentError('expected a whole number of milliseconds.');
  return ms;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return port;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
