import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Source locations from V8 stack traces, for attributing an unhandled rejection to the plugin
 * whose file created the error without tracking anything at run time (see
 * `HostOptions.unhandledRejections`, policy `'report'`).
 */

/** Plugboard's own compiled or source tree (`<package>/src` or `<package>/dist`). */
const ownRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..') + sep;
const ownPackage = `${sep}node_modules${sep}plugboard${sep}`;

/** Frames kept when capturing a caller: plugboard's own frames come first, then the caller's. */
const CALLER_DEPTH = 12;

/** `at fn (/path/file.ts:1:2)`, `at /path/file.js:1:2`, `at async fn (file:///path:1:2)`. */
const FRAME = /^\s*at (?:.*?\()?((?:file:\/\/)?\/[^():]*|[A-Za-z]:\\[^():]*):\d+:\d+\)?$/;

/** The files named by a stack trace's frames, in order (internal and anonymous frames skipped). */
export function stackFiles(stack: string): string[] {
  const files: string[] = [];
  for (const line of stack.split('\n')) {
    const match = FRAME.exec(line);
    if (match === null) continue;
    const location = match[1]!;
    files.push(location.startsWith('file://') ? safePath(location) : location);
  }
  return files.filter((file) => file.length > 0);
}

/** True for plugboard's own files (its `src`/`dist` tree, or an installed `plugboard` package). */
export function isOwnFile(file: string): boolean {
  return file.startsWith(ownRoot) || file.includes(ownPackage);
}

/**
 * The file of the first caller outside plugboard of the function `below` (skipping `below`
 * itself and plugboard's own frames), or undefined when none is within the first frames.
 * Costs one bounded stack capture; meant for definition time, not hot paths.
 */
export function callerFile(below: (...args: never[]) => unknown): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = CALLER_DEPTH;
  try {
    Error.captureStackTrace(holder, below);
  } finally {
    Error.stackTraceLimit = limit;
  }
  return stackFiles(holder.stack ?? '').find((file) => !isOwnFile(file));
}

/** Where a plugin's code lives: a plugin folder, or the one file that defined it. */
export type PluginOrigin =
  | { readonly pluginId: string; readonly dir: string }
  | { readonly pluginId: string; readonly file: string };

/**
 * The plugin an error's stack points at: walking its frames in order (plugboard's own frames
 * skipped), the first frame in some plugin's file or folder decides. A file claimed by one
 * `definePlugin` plugin wins over folders; among folders the deepest wins. A frame in a file
 * that defined several plugins is ambiguous and attributes nothing. Non-errors (no stack)
 * attribute nothing.
 */
export function attributeByStack(
  reason: unknown,
  origins: readonly PluginOrigin[],
): string | undefined {
  if (!(reason instanceof Error) || typeof reason.stack !== 'string' || origins.length === 0)
    return undefined;
  for (const file of stackFiles(reason.stack)) {
    if (isOwnFile(file)) continue;
    const byFile = origins.filter((o) => 'file' in o && o.file === file);
    if (byFile.length > 0) return byFile.length === 1 ? byFile[0]!.pluginId : undefined;
    let best: { pluginId: string; dir: string } | undefined;
    for (const o of origins) {
      if ('dir' in o && file.startsWith(o.dir + sep) && o.dir.length > (best?.dir.length ?? -1))
        best = o;
    }
    if (best !== undefined) return best.pluginId;
  }
  return undefined;
}

function safePath(url: string): string {
  try {
    return fileURLToPath(url);
  } catch {
    return '';
  }
}
