import type { Command } from 'commander';
import {
  clusterOptions,
  printList,
  processCommandEnv,
  withCluster,
  type ClusterFlags,
  type CommandEnv,
} from '../cluster-command.js';

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
    printList(terminal, flags, await client.services(), {
      empty: 'No RPC service is registered in this cluster.',
      header: ['SERVICE', 'METHODS', 'PROVIDED BY'],
      row: (s) => [
        s.name,
        s.methods.join(', '),
        s.instances.map((i) => `${i.pluginId}@${i.nodeId}`).join(', '),
      ],
    });
    return 0;
  });
}
