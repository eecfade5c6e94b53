import { createRuntime } from '../context/runtime.js';
import { PluginHost } from './plugin-host.js';
import type { Host, HostOptions } from './types.js';

/**
 * Create a host for a set of plugins. Nothing starts until `host.start()`.
 *
 * @example
 * ```ts
 * const host = await createHost({ plugins: [auth, calculator, './plugins/billing'] });
 * await host.start();   // load folders, resolve the dependency graph, activate in order
 * console.log(host.health().plugins['calculator-plugin']?.state); // 'active'
 * await host.stop();    // deactivate in reverse order, release everything, close the backend
 * ```
 *
 * Defaults: backend `'memory'`, `startTimeout` 30000 ms (connecting the backend),
 * `activateTimeout` 10000 ms, `deactivateTimeout` 5000 ms, `stopTimeout` 15000 ms, a pino logger
 * at `logLevel` (else `PLUGBOARD_LOG_LEVEL`, else `info`; `logger: false` for none), a random
 * `nodeId`, unhandled rejections caught while running, logged, and reported as `plugin.error`
 * when their stack trace points at a plugin's file (`unhandledRejections: 'report'`).
 * Asynchronous so that it is awaited like every other setup step; options and plugin objects are
 * validated here, folder plugins are loaded by `start()`.
 *
 * @returns a promise that rejects (never throws) with InvalidManifestError for an invalid plugin
 *   object, or ValidationError for a bad option (naming it in `details.field`), such as a
 *   non-boolean `strictPermissions` or malformed `keys`.
 */
export function createHost(options: HostOptions = {}): Promise<Host> {
  try {
    return Promise.resolve(new PluginHost(options, createRuntime));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
