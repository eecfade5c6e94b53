import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
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
      new Option(
        '--watch',
        'reload a plugin when a file in its folder changes (it and its dependents restart; the others keep running)',
      ).conflicts('once'),
    )
    .option(
      '--strict-start',
      'fail at once (exit 1, nothing keeps running) when any plugin does not start',
    )
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
