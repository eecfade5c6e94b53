import type { PluginContext } from '../../../src/context/types.js';
import type { Host, HostOptions } from '../../../src/host/index.js';
import { createHost, definePlugin } from '../../../src/host/index.js';
import { silentLogger } from '../../support/runtime.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
} from '../../backends/redis/support.js';

/** A started host whose plugins hand over their contexts; `stop` ends it (and its namespace). */
export interface CapsHost {
  readonly host: Host;
  readonly contexts: Readonly<Record<string, PluginContext>>;
  stop(): Promise<void>;
}

/**
 * One host with a plugin per entry of `plugins` (name → its `permissions` list, undefined for
 * none), on the embedded backend or on the shared Redis in a fresh namespace.
 */
export async function capsHost(
  redis: boolean,
  plugins: Readonly<Record<string, readonly string[] | undefined>>,
  options: Pick<HostOptions, 'strictPermissions'> = {},
): Promise<CapsHost> {
  const contexts: Record<string, PluginContext> = {};
  const namespace = uniqueNamespace('caps');
  const host = await createHost({
    logger: silentLogger,
    ...options,
    ...(redis ? { backend: { redis: SHARED_REDIS_URL, namespace } } : {}),
    plugins: Object.entries(plugins).map(([name, permissions]) =>
      definePlugin({
        name,
        version: '1.0.0',
        ...(permissions === undefined ? {} : { permissions }),
        activate: (c) => void (contexts[name] = c),
      }),
    ),
  });
  await host.start();
  return {
    host,
    contexts,
    stop: async () => {
      await host.stop();
      if (redis) await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
}
