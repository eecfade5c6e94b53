import type { Command } from 'commander';
import { CLI_CLIENT_ID } from '../cluster-client.js';
import {
  clusterOptions,
  describeError,
  processCommandEnv,
  toJson,
  withCluster,
  type ClusterFlags,
  type CommandEnv,
} from '../cluster-command.js';
import { parseJsonArgument } from '../json-argument.js';

/** `plugboard emit <event> [json]`: publish an event to every subscriber in the cluster. */
export function registerEmitCommand(program: Command): void {
  clusterOptions(
    program
      .command('emit')
      .description(`Publish an event to the cluster (its source is "${CLI_CLIENT_ID}").`)
      .argument('<event>', 'event name, e.g. order.created')
      .argument('[json]', 'the event data as JSON, e.g. \'{"id":42}\' (default: none)'),
    `plugboard emit order.created '{"id":42}'`,
  ).action(async (event: string, json: string | undefined, flags: ClusterFlags) => {
    process.exitCode = await runEmit(event, json, flags, processCommandEnv());
  });
}

/** `--json`: `{ "event": <name>, "published": true, "nodeId": <the CLI's node id> }`. */
export async function runEmit(
  event: string,
  json: string | undefined,
  flags: ClusterFlags,
  env: CommandEnv,
): Promise<number> {
  const { terminal } = env;
  let data: unknown;
  try {
    data = json === undefined ? undefined : parseJsonArgument(json, 'The event data');
  } catch (error) {
    terminal.err(`plugboard: ${describeError(error)}`);
    return 1;
  }
  return withCluster(flags, env, async (client) => {
    await client.context.eventBus.publish(event, data);
    if (flags.json === true)
      terminal.out(toJson({ event, published: true, nodeId: client.nodeId }));
    else terminal.out(`${terminal.style.green('✓')} published ${terminal.style.cyan(event)}`);
    return 0;
  });
}
