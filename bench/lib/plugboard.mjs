// Starts a Plugboard host from the built package (`dist/`, what users get) with a few plugins
// and hands back their contexts. Imported lazily so anchor-only runs work before `dist` exists.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';
import { bounded, deleteNamespaceKeys, REDIS_URL, uniqueNamespace } from './remote.mjs';

const DIST = new URL('../../dist/index.js', import.meta.url);

export const plugboardBuilt = () => existsSync(fileURLToPath(DIST));

/**
 * `names` are plugin names; resolves with `{ host, ctx: { [name]: PluginContext }, close }`.
 * `permissions`: a plugin's declared capabilities by name (enforced on each call); a plugin not
 * in it declares none (trusted).
 */
export async function startPlugboard(names, hostOptions = {}, permissions = {}) {
  const { createHost, definePlugin } = await import(DIST.href);
  const ctx = {};
  const plugins = names.map((name) =>
    definePlugin({
      name,
      version: '1.0.0',
      ...(permissions[name] === undefined ? {} : { permissions: permissions[name] }),
      activate(context) {
        ctx[name] = context;
      },
    }),
  );
  // PLUGBOARD_BENCH_METRICS=off measures the hosts without metrics (the overhead of counting).
  const metrics = process.env.PLUGBOARD_BENCH_METRICS === 'off' ? { metrics: false } : {};
  const host = await createHost({ plugins, ...metrics, ...hostOptions });
  await host.start();
  return { host, ctx, close: () => host.stop() };
}

/**
 * The ioredis that Plugboard itself runs on (the repository's dependency, not the bench
 * package's, which follows Moleculer's peer range): the raw-client floors measure the same
 * client as our Redis backend.
 */
export async function plugboardRedis() {
  const require = createRequire(new URL('../../package.json', import.meta.url));
  const mod = await import(pathToFileURL(require.resolve('ioredis')).href);
  return mod.Redis ?? mod.default;
}

/**
 * `count` hosts on the shared Redis, one fresh namespace between them, each a node of its own
 * with one plugin `plugin`. Resolves with `{ contexts, close }`: the plugin's context on each
 * host, and a close that stops every host (bounded) and deletes the namespace's keys.
 */
export async function startRedisHosts(count, plugin) {
  const namespace = uniqueNamespace();
  const hosts = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startPlugboard([plugin], {
        nodeId: `${namespace}-n${i}`,
        backend: { redis: REDIS_URL, namespace },
        parity: false,
      }),
    ),
  );
  return {
    contexts: hosts.map((h) => h.ctx[plugin]),
    close: async () => {
      await Promise.all(hosts.map((h, i) => bounded(h.close(), `host ${i} stop`)));
      await bounded(deleteNamespaceKeys(namespace), 'key cleanup');
    },
  };
}
