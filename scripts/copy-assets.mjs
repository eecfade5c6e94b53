#!/usr/bin/env node
// Copy the non-TypeScript assets of src/ (Lua scripts) to dist/, keeping their paths, so that
// code loading them relative to import.meta.url finds them after `tsc` (which copies only .ts
// output). Run by `npm run build` after tsc.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = process.argv[2] ?? join(root, 'dist');
const ASSET = /\.lua$/;

let copied = 0;
function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (ASSET.test(entry.name)) {
      const target = join(dist, relative(src, path));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(path, target);
      copied++;
    }
  }
}
walk(src);
process.stdout.write(`copy-assets: ${copied} file(s) copied to ${relative(root, dist) || '.'}\n`);
