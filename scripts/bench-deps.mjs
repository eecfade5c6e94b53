#!/usr/bin/env node
// Install the benchmark's own dependencies (bench/package.json: the anchors, the libraries
// measured beside Plugboard) when they are missing or older than bench/package-lock.json.
// Run by `npm run bench` before bench/run.mjs. They are a separate package so that the anchors'
// version ranges never constrain the dependencies Plugboard's users install.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const bench = join(fileURLToPath(new URL('..', import.meta.url)), 'bench');
const lock = join(bench, 'package-lock.json');
// npm writes node_modules/.package-lock.json after every install: a copy of what it installed.
const installed = join(bench, 'node_modules', '.package-lock.json');

const fresh = existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs;
if (fresh) {
  process.stdout.write('bench-deps: bench/node_modules is up to date\n');
} else {
  process.stdout.write('bench-deps: installing the benchmark anchors (npm ci --prefix bench)\n');
  execFileSync('npm', ['ci', '--prefix', bench, '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
