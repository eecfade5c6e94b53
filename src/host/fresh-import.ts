import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * A module resolve hook, registered once on the first fresh import: a module imported under a
 * fresh URL (`?pbv=<n>&pbroot=<plugin folder URL>`) passes the same query on to the files it
 * imports from its plugin's folder (not from `node_modules`), so a reloaded plugin runs every
 * file of its folder anew, not only `main`. Files outside the folder (shared modules, packages)
 * keep their one instance. Plain JavaScript in a data: URL, so it loads the same from the
 * source and from dist.
 */
const HOOKS = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const parent = context.parentURL;
  if (parent === undefined || !result.url.startsWith('file:')) return result;
  const query = new URL(parent).searchParams;
  const version = query.get('pbv');
  const root = query.get('pbroot');
  if (version === null || root === null) return result;
  const url = new URL(result.url);
  if (!url.href.startsWith(root + '/') || url.pathname.includes('/node_modules/')) return result;
  url.search = new URLSearchParams({ pbv: version, pbroot: root }).toString();
  return { ...result, url: url.href };
}
`;

let registered: boolean | undefined;
let fresh = 0;

/**
 * The URL to import `file` (a plugin's main) under, so that Node runs it and the files of
 * `root` it imports anew: each call gives a new version. Every version stays in Node's module
 * cache (ES modules cannot be evicted).
 */
export function freshUrl(file: string, root: string): string {
  if (registered === undefined) {
    try {
      register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
      registered = true;
    } catch {
      // module.register needs Node 20.6: without it only the main file is fresh.
      registered = false;
    }
  }
  const url = pathToFileURL(file);
  url.search = new URLSearchParams({
    pbv: String(++fresh),
    pbroot: pathToFileURL(root).href,
  }).toString();
  return url.href;
}
