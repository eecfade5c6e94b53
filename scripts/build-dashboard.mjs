#!/usr/bin/env node
// Bundle the dashboard's web page (src/dashboard/ui: Preact + CSS) with esbuild into
// dist/dashboard/: index.html and assets/app-<hash>.js|css (content-hashed, so the server may let
// browsers cache assets while index.html is always revalidated). Run by `npm run build` after tsc.
// Usage: node scripts/build-dashboard.mjs [outdir] (default dist/dashboard).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ui = join(root, 'src/dashboard/ui');
const out = process.argv[2] ?? join(root, 'dist/dashboard');
const assets = join(out, 'assets');

rmSync(assets, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });
const result = await build({
  entryPoints: [join(ui, 'main.tsx')],
  bundle: true,
  outdir: assets,
  entryNames: 'app-[hash]',
  assetNames: '[name]-[hash]',
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  absWorkingDir: root,
});

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = outputs.find((file) => file.endsWith('.js'));
const style = outputs.find((file) => file.endsWith('.css'));
if (script === undefined || style === undefined)
  throw new Error(`build-dashboard: expected a .js and a .css bundle, got ${outputs.join(', ')}`);
const template = readFileSync(join(ui, 'index.html'), 'utf8');
const tags =
  `<link rel="stylesheet" href="assets/${style}" />\n` +
  `    <script type="module" src="assets/${script}"></script>`;
if (!template.includes('<!-- assets -->'))
  throw new Error('build-dashboard: index.html has no <!-- assets --> marker');
writeFileSync(join(out, 'index.html'), template.replace('<!-- assets -->', tags));

const sizes = Object.entries(result.metafile.outputs)
  .map(([file, info]) => `${basename(file)} ${(info.bytes / 1024).toFixed(1)} KiB`)
  .join(', ');
process.stdout.write(`build-dashboard: ${relative(root, out) || '.'}: index.html, ${sizes}\n`);
