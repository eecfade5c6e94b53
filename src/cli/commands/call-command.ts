import { printable } from '../terminal.js';
import { InvalidArgumentError, type Command } from 'commander';
import { hasErrorCode } from '../../errors/errors.js';
import type { ClusterClient } from '../cluster-client.js';
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

export interface CallFlags extends ClusterFlags {
  /** Deadline of the call, ms (default: the configured rpcTimeout, else 10000). */
  timeout?: number;
}

/** `plugboard call <service> <method> [json]`: call an RPC method anywhere in the cluster. */
export function registerCallCommand(program: Command): void {
  clusterOptions(
    program
      .command('call')
      .description('Call an RPC method of a service in the cluster and print its result.')
      .argument('<service>', 'service name, e.g. calculator')
      .argument('<method>', 'method name, e.g. add')
      .argument(
        '[json]',
        "the arguments as JSON: an array is the argument list ('[1,2]'), any other value the one argument ('{\"a\":1}')",
      )
      .option(
        '--timeout <ms>',
        'deadline of the call (default: PLUGBOARD_RPC_TIMEOUT or 10000)',
        milliseconds,
      ),
    `plugboard call calculator add '[1,2]' --json`,
  ).action(async (service: string, method: string, json: string | undefined, flags: CallFlags) => {
    process.exitCode = await runCall(service, method, json, flags, processCommandEnv());
  });
}

/** `--json`: `{ "result": <the method's result, null for none> }`. */
export async function runCall(
  service: string,
  method: string,
  json: string | undefined,
  flags: CallFlags,
  env: CommandEnv,
): Promise<number> {
  const { terminal } = env;
  let params: unknown[] | undefined;
  try {
    params =
      json === undefined ? undefined : toArguments(parseJsonArgument(json, 'The parameters'));
  } catch (error) {
    terminal.err(`plugboard: ${describeError(error)}`);
    return 1;
  }
  return withCluster(flags, env, async (client) => {
    let result: unknown;
    try {
      result = await client.context.rpcClient.call(
        service,
        method,
        params,
        flags.timeout === undefined ? {} : { timeout: flags.timeout },
      );
    } catch (error) {
      // The message comes from the provider's code: shown with its control characters escaped.
      terminal.err(`plugboard: ${printable(describeError(error))}`);
      const hint = await explainCallFailure(client, service, error);
      if (hint !== undefined) terminal.err(`  ${hint}`);
      return 1;
    }
    if (flags.json === true) terminal.out(toJson({ result }));
    else
      terminal.out(
        result === undefined
          ? '(no result)'
          : (JSON.stringify(result, null, 2) ?? '').split('\n').map(printable).join('\n'),
      );
    return 0;
  });
}

/** The services (or the service's methods) a person might have meant. */
async function explainCallFailure(
  client: ClusterClient,
  service: string,
  error: unknown,
): Promise<string | undefined> {
  if (!hasErrorCode(error, 'PB_SERVICE_UNAVAILABLE') && !hasErrorCode(error, 'PB_METHOD_NOT_FOUND'))
    return undefined;
  const services = await client.services().catch(() => undefined);
  if (services === undefined) return undefined;
  const found = services.find((s) => s.name === service);
  if (found !== undefined) return `methods of ${service}: ${found.methods.join(', ')}`;
  return services.length === 0
    ? 'no service is registered in this cluster (check --namespace).'
    : `known services: ${services.map((s) => s.name).join(', ')}`;
}

/** A JSON array is the argument list; any other value is the only argument. */
export function toArguments(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function milliseconds(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1)
    throw new InvalidArgumentError('expected a whole number of milliseconds, 1 or more.');
  return ms;
}
