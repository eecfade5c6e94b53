import { printable } from '../terminal.js';
import { InvalidArgumentError, type Command } from 'commander';
import type { EventMeta } from '../../bus/types.js';
import {
  clusterOptions,
  processCommandEnv,
  toJson,
  withCluster,
  type ClusterFlags,
  type CommandEnv,
} from '../cluster-command.js';

export interface TailFlags extends ClusterFlags {
  /** Stop after this many events. */
  count?: number;
  /** Stop after this many ms. */
  timeout?: number;
}

/** A tailed event as `--json` prints it, one per line. */
export interface TailedEvent {
  readonly name: string;
  readonly source: string;
  readonly nodeId: string;
  readonly traceId: string;
  /** Epoch ms at publish. */
  readonly time: number;
  readonly data: unknown;
}

/** Longest data shown on one line of text output (JSON output is never cut). */
const TEXT_DATA_CHARS = 200;

/** `plugboard tail <pattern>`: print live events until Ctrl-C, `--count` or `--timeout`. */
export function registerTailCommand(program: Command): void {
  clusterOptions(
    program
      .command('tail')
      .description('Print events published in the cluster as they happen, until Ctrl-C.')
      .argument(
        '<pattern>',
        'event name or pattern: * is one segment, ** any number ("order.*", "**")',
      )
      .option('--count <n>', 'stop after this many events', positiveInteger)
      .option('--timeout <ms>', 'stop after this many milliseconds', positiveInteger),
    `plugboard tail 'order.**' --count 10 --json`,
  )
    .addHelpText(
      'after',
      '\nWith --count, exits 1 when --timeout passes (or Ctrl-C) before that many events arrived.',
    )
    .action(async (pattern: string, flags: TailFlags) => {
      process.exitCode = await runTail(pattern, flags, processCommandEnv());
    });
}

/**
 * `--json`: one line per event, `{ name, source, nodeId, traceId, time, data }`. A line on
 * stderr says when the subscription is in effect (events published before it are not seen).
 */
export function runTail(pattern: string, flags: TailFlags, env: CommandEnv): Promise<number> {
  const { terminal } = env;
  const { style } = terminal;
  return withCluster(flags, env, async (client) => {
    let seen = 0;
    let finish: (reason: 'count' | 'timeout' | 'signal') => void = () => {};
    const finished = new Promise<'count' | 'timeout' | 'signal'>((resolve) => (finish = resolve));
    const subscription = client.context.eventBus.subscribe(
      pattern,
      (data: unknown, _next, meta: EventMeta) => {
        if (flags.count !== undefined && seen >= flags.count) return;
        seen++;
        const event: TailedEvent = {
          name: meta.event,
          source: meta.source,
          nodeId: meta.nodeId,
          traceId: meta.traceId,
          time: meta.timestamp,
          data,
        };
        if (flags.json === true) terminal.out(toJson(event));
        else {
          const text = data === undefined ? '' : printable(JSON.stringify(data) ?? '');
          terminal.out(
            `${style.dim(new Date(event.time).toISOString().slice(11, 23))} ${style.cyan(event.name)} ` +
              `${style.dim(printable(`${event.source}@${event.nodeId}`))}${text === '' ? '' : ` ${cut(text)}`}`,
          );
        }
        if (flags.count !== undefined && seen >= flags.count) finish('count');
      },
    );
    await subscription.ready;
    const timer =
      flags.timeout === undefined ? undefined : setTimeout(() => finish('timeout'), flags.timeout);
    const removeSignal = terminal.onSignal(() => finish('signal'));
    terminal.err(
      `plugboard: tailing "${pattern}" (${[
        flags.count === undefined ? '' : `${flags.count} event${flags.count === 1 ? '' : 's'}`,
        flags.timeout === undefined ? '' : `${flags.timeout} ms`,
        'Ctrl-C to stop',
      ]
        .filter(Boolean)
        .join(', ')})`,
    );
    const reason = await finished;
    clearTimeout(timer);
    removeSignal();
    subscription.unsubscribe();
    if (flags.count !== undefined && reason !== 'count') {
      terminal.err(
        `plugboard: ${seen} of ${flags.count} events arrived before ${reason === 'timeout' ? 'the timeout' : 'the stop'}.`,
      );
      return 1;
    }
    return 0;
  });
}

function cut(text: string): string {
  return text.length <= TEXT_DATA_CHARS ? text : `${text.slice(0, TEXT_DATA_CHARS)}…`;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a whole number, 1 or more.');
  return n;
}
