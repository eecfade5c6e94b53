import { createReadStream, existsSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Where the built UI is by default: `dist/dashboard/` (beside this file once built, or under the
 * package root when running from the source).
 */
export function defaultUiDirectory(): string {
  const beside = fileURLToPath(new URL('../', import.meta.url));
  if (existsSync(join(beside, 'index.html'))) return beside;
  return fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url));
}

/**
 * Serve the UI bundle: `index.html` for `/`, files under `assets/` for `/assets/*`, nothing
 * else of the directory. A path leaving `assets/` (`..`, encoded or not) is refused (404), as is
 * anything that is not a regular file. Without `index.html` the UI was not built: 503 saying so.
 */
export function serveStatic(directory: string, pathname: string, res: ServerResponse): void {
  const root = resolve(directory);
  if (pathname === '/' || pathname === '/index.html') {
    const index = join(root, 'index.html');
    if (!isFile(index)) {
      res.writeHead(503, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(
        '<!doctype html><title>Plugboard dashboard</title><h1>The dashboard UI was not built</h1>' +
          `<p>No index.html in ${escapeHtml(root)}. Run <code>npm run build</code>; the JSON API ` +
          'under <code>/api/</code> works without it.</p>\n',
      );
      return;
    }
    sendFile(index, res, 'no-cache');
    return;
  }
  const file = assetPath(root, pathname);
  if (file === undefined || !isFile(file)) {
    notFound(res);
    return;
  }
  sendFile(file, res, 'public, max-age=3600');
}

/** The file `/assets/<rest>` names inside `root/assets`, or undefined when it would leave it. */
export function assetPath(root: string, pathname: string): string | undefined {
  if (!pathname.startsWith('/assets/')) return undefined;
  let rest: string;
  try {
    rest = decodeURIComponent(pathname.slice('/assets/'.length));
  } catch {
    return undefined;
  }
  if (rest.length === 0 || rest.includes('\0') || rest.includes('\\')) return undefined;
  if (rest.split('/').some((segment) => segment === '..' || segment === '.' || segment === ''))
    return undefined;
  const assets = join(root, 'assets');
  const file = resolve(assets, rest);
  return file.startsWith(assets + sep) ? file : undefined;
}

function sendFile(file: string, res: ServerResponse, cache: string): void {
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, {
    'content-type': type,
    'content-length': statSync(file).size,
    'cache-control': cache,
  });
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('Not found\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
