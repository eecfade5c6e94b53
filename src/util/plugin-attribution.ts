import { AsyncLocalStorage } from 'node:async_hooks';

/** Which plugin of which host some code runs for (carried through its async continuations). */
export interface PluginTag {
  readonly pluginId: string;
  /** The host the plugin belongs to (several hosts may share a process and plugin names). */
  readonly host: object;
}

/**
 * Carries a plugin's identity through everything it runs (activate, handlers, RPC methods,
 * timers, background tasks) with an `AsyncLocalStorage`, so an unhandled rejection can be traced
 * back to the plugin that caused it: Node emits `unhandledRejection` inside the async context of
 * the rejected promise, where {@link currentPlugin} returns the tag.
 *
 * Tracking costs: once enabled, Node's promise hooks run for every promise in the process
 * (roughly 2-3x the cost of a bare `await` in a microbenchmark). So it is on only while some host
 * with `unhandledRejections: 'trace'` runs ({@link enableAttribution}, reference-counted), and
 * code wraps callbacks only when it is on. The default policy attributes by stack trace instead
 * (`util/stack-origin`).
 */
const storage = new AsyncLocalStorage<PluginTag>();
let users = 0;

/** Turn tracking on until the returned function is called (reference-counted; idempotent release). */
export function enableAttribution(): () => void {
  users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) storage.disable();
  };
}

/** True while some host tracks plugins (callbacks registered now should be wrapped). */
export function attributionActive(): boolean {
  return users > 0;
}

/** Run `fn(...args)` as `tag`'s code when tracking is on; otherwise just call it. */
export function runAsPlugin<A extends unknown[], R>(
  tag: PluginTag,
  fn: (...args: A) => R,
  ...args: A
): R {
  return users > 0 ? storage.run(tag, fn, ...args) : fn(...args);
}

/** The plugin whose code is running now, if tracking is on and some plugin's code is. */
export function currentPlugin(): PluginTag | undefined {
  return users > 0 ? storage.getStore() : undefined;
}
