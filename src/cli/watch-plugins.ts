import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';
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
 * `plugboard start --watch`: watch each folder plugin's folder and its subfolders as they are at
 * start (not `node_modules`, not dot files or folders) and, once a change has settled, `host.reload()` that plugin:
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
  let folders = 0;

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
    const onChange = (dir: string) => (_event: string, filename: string | Buffer | null) => {
      if (closed) return;
      const file = filename === null ? undefined : String(filename);
      if (file !== undefined && ignored(file)) return;
      changed.set(
        name,
        file === undefined ? relative(folder, dir) || 'a file' : relative(folder, join(dir, file)),
      );
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
    };
    // One watcher per folder of the plugin, without node_modules and dot folders: Node's
    // recursive watch on Linux would also watch every folder of an installed node_modules.
    for (const dir of pluginFolders(folder)) {
      try {
        const watcher = watch(dir, onChange(dir));
        watcher.on('error', (error) =>
          options.err(`plugboard: watching ${dir} failed: ${describe(error)}`),
        );
        watchers.push(watcher);
      } catch (error) {
        options.err(`plugboard: cannot watch ${dir}: ${describe(error)}`);
      }
    }
    folders++;
  }
  if (folders > 0)
    options.out(
      `plugboard: watching ${folders} plugin folder${folders === 1 ? '' : 's'} for changes (--watch).`,
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

/** Most folders watched per plugin (a plugin folder is small; this bounds a mistake). */
const MAX_FOLDERS = 500;

/** Names a change to is not a change to the plugin's code. */
function ignored(name: string): boolean {
  return name.split(sep).some((part) => part === 'node_modules' || part.startsWith('.'));
}

/** `root` and its subfolders, without node_modules and dot folders, at most MAX_FOLDERS. */
function pluginFolders(root: string): string[] {
  const found = [root];
  for (let i = 0; i < found.length && found.length < MAX_FOLDERS; i++) {
    let entries;
    try {
      entries = readdirSync(found[i]!, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries)
      if (entry.isDirectory() && !ignored(entry.name) && found.length < MAX_FOLDERS)
        found.push(join(found[i]!, entry.name));
  }
  return found;
}

function describe(error: unknown): string {
  if (isPlugboardError(error)) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}
