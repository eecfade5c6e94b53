import type { Command } from 'commander';
import {
  clusterOptions,
  processCommandEnv,
  toJson,
  withCluster,
  type ClusterFlags,
  type CommandEnv,
} from '../cluster-command.js';
import { table } from '../terminal.js';

/** `plugboard services`: the RPC services of the cluster, their methods and instances. */
export function registerServicesCommand(program: Command): void {
  clusterOptions(
    program
      .command('services')
      .description('List the RPC services of the cluster: methods and the nodes providing them.'),
    'plugboard services --json | jq ".[].name"',
  ).action(async (flags: ClusterFlags) => {
    process.exitCode = await runServices(flags, processCommandEnv());
  });
}

/**
 * `--json`: `[{ name, methods: string[], instances: [{ id, nodeId, pluginId }] }]`, sorted by
 * name.
 */
export function runServices(flags: ClusterFlags, env: CommandEnv): Promise<number> {
  const { terminal } = env;
  return withCluster(flags, env, async (client) => {
    const services = await client.services();
    if (flags.json === true) terminal.out(toJson(services));
    else if (services.length === 0) terminal.out('No RPC service is registered in this cluster.');
    else
      terminal.out(
        table(
          terminal.style,
          ['SERVICE', 'METHODS', 'PROVIDED BY'],
          services.map((s) => [
            s.name,
            s.methods.join(', '),
            s.instances.map((i) => `${i.pluginId}@${i.nodeId}`).join(', '),
          ]),
          (_row, column, text) => (column === 0 ? terminal.style.cyan(text) : text),
        ),
      );
    return 0;
  });
}
