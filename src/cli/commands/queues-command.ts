import { printable } from '../terminal.js';
import { InvalidArgumentError, type Command } from 'commander';
import type { ClusterClient, Settled } from '../cluster-client.js';
import {
  clusterOptions,
  printList,
  processCommandEnv,
  toJson,
  withCluster,
  type ClusterFlags,
  type CommandEnv,
} from '../cluster-command.js';

export interface DeadFlags extends ClusterFlags {
  /** Most dead letters listed (default 50). */
  limit?: number;
}

export interface SettleFlags extends ClusterFlags {
  /** Every dead letter of the queue. */
  all?: boolean;
}

/** Dead letters settled one by one past this many show a progress line (on a terminal). */
const PROGRESS_FROM = 20;
const DEFAULT_LIMIT = 50;

/**
 * `plugboard queues`: counts per queue; `queues dead <queue>`, `queues replay <queue>` and
 * `queues remove <queue>` list, replay and drop dead letters.
 */
export function registerQueuesCommand(program: Command): void {
  const queues = clusterOptions(
    program
      .command('queues')
      .description(
        'Show every queue with its waiting, delayed, in-flight and dead messages; the subcommands list, replay and remove dead letters.',
      ),
    'plugboard queues --namespace shop',
  ).action(async (flags: ClusterFlags) => {
    process.exitCode = await runQueues(flags, processCommandEnv());
  });

  clusterOptions(
    queues
      .command('dead')
      .description('List the dead letters of a queue, oldest first.')
      .argument('<queue>', 'a queue name as `plugboard queues` shows it')
      .option(
        '--limit <n>',
        `most dead letters listed (default ${DEFAULT_LIMIT})`,
        positiveInteger,
      ),
    'plugboard queues dead emails --limit 10 --json',
  ).action(async (queue: string, flags: DeadFlags) => {
    process.exitCode = await runDeadLetters(queue, flags, processCommandEnv());
  });

  for (const action of ['replay', 'remove'] as const) {
    clusterOptions(
      queues
        .command(action)
        .description(
          action === 'replay'
            ? 'Move dead letters back to their queue to be delivered again (attempts counted on).'
            : 'Delete dead letters for good.',
        )
        .argument('<queue>', 'a queue name as `plugboard queues` shows it')
        .argument('[id...]', 'dead letter ids (from `plugboard queues dead <queue>`)')
        .option('--all', `${action} every dead letter of the queue`),
      `plugboard queues ${action} emails 1718-0 1718-1   # or: --all`,
    ).action(async (queue: string, ids: string[], flags: SettleFlags) => {
      process.exitCode = await runSettle(action, queue, ids, flags, processCommandEnv());
    });
  }
}

/** `--json`: `[{ name, kind: "work"|"events"|"other", group?, pattern?, waiting, delayed, inFlight, dead }]`. */
export function runQueues(flags: ClusterFlags, env: CommandEnv): Promise<number> {
  const { terminal } = env;
  const { style } = terminal;
  return withCluster(flags, env, async (client) => {
    printList(terminal, flags, await client.queues(), {
      empty: 'No queue in this cluster yet.',
      header: ['QUEUE', 'KIND', 'WAITING', 'DELAYED', 'IN FLIGHT', 'DEAD'],
      row: (q) => [
        q.name,
        q.kind,
        String(q.waiting),
        String(q.delayed),
        String(q.inFlight),
        String(q.dead),
      ],
      color: (q, column, text) => (column === 5 && q.dead > 0 ? style.red(text) : undefined),
    });
    return 0;
  });
}

/** `--json`: `[{ id, reason, attempt, enqueuedAt, deadAt, event?, data }]`. */
export function runDeadLetters(queue: string, flags: DeadFlags, env: CommandEnv): Promise<number> {
  const { terminal } = env;
  const { style } = terminal;
  return withCluster(flags, env, async (client) => {
    const letters = await client.deadLetters(queue, flags.limit ?? DEFAULT_LIMIT);
    if (flags.json === true) terminal.out(toJson(letters));
    else if (letters.length === 0) terminal.out(`No dead letter in ${queue}.`);
    else
      for (const letter of letters) {
        terminal.out(
          `${style.bold(printable(letter.id))}  ${style.dim(new Date(letter.deadAt).toISOString())}  attempt ${letter.attempt}` +
            `${letter.event === undefined ? '' : `  ${style.cyan(printable(letter.event))}`}\n` +
            `  ${style.red(printable(letter.reason))}\n  ${letter.data === undefined ? '(no data)' : printable(JSON.stringify(letter.data))}`,
        );
      }
    return 0;
  });
}

/** `--json`: `{ "replayed"|"removed": n, "missing": [ids not found] }`; exit 1 when some were missing. */
export async function runSettle(
  action: 'replay' | 'remove',
  queue: string,
  ids: readonly string[],
  flags: SettleFlags,
  env: CommandEnv,
): Promise<number> {
  const { terminal } = env;
  if ((flags.all === true) === ids.length > 0) {
    terminal.err(
      `plugboard: give the dead letter ids to ${action}, or --all (not both); list them with \`plugboard queues dead ${queue}\`.`,
    );
    return 1;
  }
  return withCluster(flags, env, async (client) => {
    const outcome = await settle(client, action, queue, flags.all === true ? undefined : ids, env);
    const key = action === 'replay' ? 'replayed' : 'removed';
    if (flags.json === true)
      terminal.out(toJson({ [key]: outcome.done, missing: outcome.missing }));
    else {
      // A check mark only for work done, or for --all on an empty dead-letter list.
      if (outcome.done > 0 || outcome.missing.length === 0)
        terminal.out(
          `${terminal.style.green('✓')} ${key} ${outcome.done} dead letter${outcome.done === 1 ? '' : 's'} of ${queue}`,
        );
      if (outcome.missing.length > 0)
        terminal.err(`plugboard: no dead letter ${outcome.missing.join(', ')} in ${queue}.`);
    }
    return outcome.missing.length > 0 ? 1 : 0;
  });
}

/** One step for `--all`; one per id otherwise, with a progress line when there are many. */
async function settle(
  client: ClusterClient,
  action: 'replay' | 'remove',
  queue: string,
  ids: readonly string[] | undefined,
  env: CommandEnv,
): Promise<Settled> {
  const verb = action === 'replay' ? 'replaying' : 'removing';
  const progress =
    ids === undefined
      ? env.terminal.progress(`${verb} every dead letter of ${queue}`)
      : ids.length >= PROGRESS_FROM
        ? env.terminal.progress(`${verb} 0/${ids.length}`)
        : undefined;
  try {
    return await client[action](queue, ids, (handled) =>
      progress?.update(`${verb} ${handled}/${ids?.length ?? 0}`),
    );
  } finally {
    progress?.stop();
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a whole number, 1 or more.');
  return n;
}
