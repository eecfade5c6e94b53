import { watch, type FSWatcher } from 'node:fs';
import { sep } from 'node:path';
import { isPlugboardError } from '../errors/errors.js';
import type { Host } from '../host/types.js';

/** How long a plugin folder must stay quiet after a change before it is reloaded (an editor's save is several writes). */
export const WATCH_DEBOUNCE_MS = 150;

export interface PluginWatcherOptions {
  /** Narration (stdout). */
  out(line: string): void;
  /** Failures (stderr). */
  err(line: string): void;
  debounceMs?: number;
}

/** Stops watching; a reload already running finishes on its own. */
export interface PluginWatcher {
  close(): Promise<void>;
}

/**
 * `plugboard start --watch`: watch each folder plugin's folder (recursively, without
 * `node_modules` and dot files) and, once a change has settled, `host.reload()` that plugin:
 * it and its dependents restart with the new code, the other plugins keep running untouched.
 * When the new code does not load (a syntax error), the running version is kept and the error
 * is printed; when its `activate` throws, it stays failed until the next save.
 */
export function watchPlugins(host: Host, options: PluginWatcherOptions): PluginWatcher {
  const debounceMs = options.debounceMs ?? WATCH_DEBOUNCE_MS;
  const watchers: FSWatcher[] = [];
  const timers = new Map<string, NodeJS.Timeout>();
  const changed = new Map<string, string>();
  const running = new Set<Promise<void>>();
  let closed = false;

  const reload = async (name: string): Promise<void> => {
    options.out(`plugboard: ${changed.get(name) ?? 'a file'} changed, reloading ${name}...`);
    changed.delete(name);
    try {
      const result = await host.reload(name);
      const others = result.restarted.filter((plugin) => plugin !== name);
      const also = others.length === 0 ? '' : ` (restarted with it: ${others.join(', ')})`;
      if (result.ok) options.out(`plugboard: reloaded ${name}${also}.`);
      else
        options.err(
          `plugboard: ${name} reloaded but not active${also}: ` +
            [
              ...result.failed.map((p) => `${p} failed`),
              ...result.skipped.map((p) => `${p} not started`),
            ].join(', ') +
            '. Fix it and save again.',
        );
    } catch (error) {
      options.err(
        `plugboard: ${name} was not reloaded, the running version is kept: ${describe(error)}`,
      );
    }
  };

  for (const plugin of host.plugins) {
    if (plugin.source.kind !== 'folder') continue;
    const { name } = plugin;
    const folder = plugin.source.path;
    const watcher = watch(folder, { recursive: true }, (_event, filename) => {
      if (closed) return;
      const file = filename === null ? undefined : String(filename);
      if (
        file !== undefined &&
        file.split(sep).some((part) => part === 'node_modules' || part.startsWith('.'))
      )
        return;
      changed.set(name, file ?? 'a file');
      clearTimeout(timers.get(name));
      timers.set(
        name,
        setTimeout(() => {
          timers.delete(name);
          const pending = reload(name);
          running.add(pending);
          void pending.finally(() => running.delete(pending));
        }, debounceMs),
      );
    });
    watcher.on('error', (error) =>
      options.err(`plugboard: watching ${folder} failed: ${describe(error)}`),
    );
    watchers.push(watcher);
  }
  if (watchers.length > 0)
    options.out(
      `plugboard: watching ${watchers.length} plugin folder${watchers.length === 1 ? '' : 's'} for changes (--watch).`,
    );

  return {
    async close() {
      closed = true;
      for (const watcher of watchers) watcher.close();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}

function describe(error: unknown): string {
  if (isPlugboardError(error)) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}
