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
 * Defaults: backend `'memory'`, `activateTimeout` 10000 ms, `deactivateTimeout` 5000 ms,
 * `stopTimeout` 15000 ms, a pino logger at level `PLUGBOARD_LOG_LEVEL` (or `info`), a random
 * `nodeId`. Asynchronous so that it can be awaited as in the SPEC; plugin objects are validated
 * here, folder plugins are loaded by `start()`.
 *
 * @throws InvalidManifestError for an invalid plugin object; ValidationError for a bad option.
 */
export function createHost(options: HostOptions = {}): Promise<Host> {
  try {
    return Promise.resolve(new PluginHost(options, createRuntime));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
