import type { PluginContext } from '../../src/context/types.js';
import type { HostOptions } from '../../src/host/index.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import { silentLogger } from '../support/runtime.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';

/** Started plugins of one host, by name; `stop` ends the host (and its Redis namespace). */
export interface ChapterHost {
  readonly contexts: Readonly<Record<string, PluginContext>>;
  stop(): Promise<void>;
}

/**
 * One host running plugins `names` (each hands over its context) on the embedded backend, or on
 * the shared Redis in a fresh namespace deleted by `stop`: how the chapter tests run examples
 * as written on both backends.
 */
export async function chapterHost(
  redis: boolean,
  names: readonly string[],
  options: Pick<HostOptions, 'dataSync' | 'cache' | 'transactions'> = {},
): Promise<ChapterHost> {
  const contexts: Record<string, PluginContext> = {};
  const namespace = uniqueNamespace('chapter');
  const host = await createHost({
    logger: silentLogger,
    ...options,
    ...(redis ? { backend: { redis: SHARED_REDIS_URL, namespace } } : {}),
    plugins: names.map((name) =>
      definePlugin({ name, version: '1.0.0', activate: (c) => void (contexts[name] = c) }),
    ),
  });
  await host.start();
  return {
    contexts,
    stop: async () => {
      await host.stop();
      if (redis) await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
}
