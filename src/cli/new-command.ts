import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { plugboardVersion } from '../host/engine.js';
import { assertName } from '../util/names.js';
import { scaffoldFiles } from './scaffold-files.js';

/** Options of `plugboard new`. */
export interface NewOptions {
  /** Folder to create the plugin folder in (default: `./plugins` when it exists, else `.`). */
  dir?: string;
  /** Print what was created as JSON. */
  json?: boolean;
}

/** Where the command writes (replaceable in tests). */
export interface NewIo {
  out(line: string): void;
  err(line: string): void;
  cwd(): string;
}

const processIo: NewIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  cwd: () => process.cwd(),
};

/**
 * `plugboard new <name>`: write a folder plugin (package.json with the `plugboard` field,
 * index.js, a node:test test, a README) into `<dir>/<folder>`, where `<folder>` is the name
 * without a scope's `@` and with `/` and `:` as `-`. Refuses an invalid plugin name and an
 * existing, non-empty folder. Resolves with the exit code.
 */
export async function runNew(
  name: string,
  options: NewOptions,
  io: NewIo = processIo,
): Promise<number> {
  const fail = (message: string, hint?: string): number => {
    if (options.json === true) io.out(JSON.stringify({ ok: false, error: message }));
    else {
      io.err(`plugboard: ${message}`);
      if (hint !== undefined) io.err(`  hint: ${hint}`);
    }
    return 1;
  };
  try {
    assertName(name, 'Plugin name');
  } catch (error) {
    return fail(
      `"${name}" is not a valid plugin name: ${error instanceof Error ? error.message : String(error)}`,
      'letters, digits and "_-:/@$", dot-separated, e.g. "greeter-plugin" or "acme.greeter".',
    );
  }
  const folderName = name.replace(/^@/, '').replace(/[/:]/g, '-');
  const service = folderName.replace(/-plugin$/, '') || folderName;
  const cwd = io.cwd();
  const parent =
    options.dir !== undefined
      ? resolve(cwd, options.dir)
      : isDirectory(join(cwd, 'plugins'))
        ? join(cwd, 'plugins')
        : cwd;
  const folder = join(parent, folderName);
  const shown = relative(cwd, folder) || '.';
  if (existsSync(folder)) {
    if (!isDirectory(folder))
      return fail(`${shown} exists and is not a folder; nothing was written.`);
    if ((await readdir(folder)).length > 0)
      return fail(
        `${shown} already exists and is not empty; nothing was written.`,
        'choose another name, or --dir <folder> to create it elsewhere.',
      );
  }
  const files = scaffoldFiles({ name, service, engine: `^${plugboardVersion()}` });
  try {
    await mkdir(folder, { recursive: true });
    for (const [file, content] of Object.entries(files))
      await writeFile(join(folder, file), content, { flag: 'wx' });
  } catch (error) {
    return fail(
      `could not write ${shown}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const resolvable = findPackage(folder, 'plugboard') !== undefined;
  if (options.json === true) {
    io.out(
      JSON.stringify({
        ok: true,
        name,
        service,
        folder,
        files: Object.keys(files),
        plugboardInstalled: resolvable,
      }),
    );
    return 0;
  }
  io.out(`plugboard: created plugin ${name} in ${shown}`);
  for (const file of Object.keys(files)) io.out(`  + ${join(shown, file)}`);
  io.out('');
  io.out('Next:');
  io.out(`  cd ${shown} && node --test     # run its test`);
  const app = basename(parent) === 'plugins' ? dirname(parent) : parent;
  io.out(
    `  npx plugboard start ${relative(cwd, app) || '.'} --watch   # run it; saving a file reloads it`,
  );
  if (!resolvable)
    io.out(
      `  note: its test imports "plugboard", which is not installed above ${shown}: ` +
        'run `npm install plugboard` in your application first.',
    );
  return 0;
}

/** Node's package lookup: `node_modules/<name>` in `from` or a folder above it. */
function findPackage(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
