import type { Command } from 'commander';
import { REDIS_DEFAULTS } from '../../backends/redis/options.js';
import {
  clusterOptions,
  printList,
  processCommandEnv,
  withCluster,
  type ClusterFlags,
  type CommandEnv,
} from '../cluster-command.js';

/** `plugboard nodes`: the live nodes of the cluster, with their plugins and RPC services. */
export function registerNodesCommand(program: Command): void {
  clusterOptions(
    program
      .command('nodes')
      .description('List the live nodes of the cluster with their plugins and services.'),
    'plugboard nodes --redis redis://127.0.0.1:6379 --namespace shop',
  ).action(async (flags: ClusterFlags) => {
    process.exitCode = await runNodes(flags, processCommandEnv());
  });
}

/** `--json`: `[{ nodeId, plugins: string[], services: string[] }]`, sorted by node id. */
export function runNodes(flags: ClusterFlags, env: CommandEnv): Promise<number> {
  const { terminal } = env;
  return withCluster(flags, env, async (client, config) => {
    // Hosts started with another namespace are invisible here: say which one was looked in.
    const namespace = config.config.namespace ?? REDIS_DEFAULTS.namespace;
    printList(terminal, flags, await client.nodes(), {
      empty:
        `No node is running in namespace "${namespace}". Hosts started with another ` +
        '--namespace are seen with the same --namespace or PLUGBOARD_NAMESPACE.',
      header: ['NODE', 'PLUGINS', 'SERVICES'],
      row: (n) => [n.nodeId, list(n.plugins), list(n.services)],
    });
    return 0;
  });
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '-' : items.join(', ');
}
