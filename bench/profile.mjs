// Profile one variant: runs it in a child with --cpu-prof and prints the functions with the
// most self time. Usage: node bench/profile.mjs <scenario> <variant> [top=25]
// Multi-process scenarios (redis-*): the peers are forked with the same --cpu-prof flags, so
// every process of the run (caller / publisher first, then each peer) gets its own profile.
// The .cpuprofile files stay in bench/results/ (open them in Chrome DevTools for the full picture).
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const [scenario, variant, top = '25'] = process.argv.slice(2);
if (!variant) throw new Error('usage: node bench/profile.mjs <scenario> <variant> [top]');
const dir = fileURLToPath(
  new URL(`./results/${scenario}-${variant}-${Date.now()}/`, import.meta.url),
);
mkdirSync(dir, { recursive: true });
execFileSync(
  process.execPath,
  [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    fileURLToPath(new URL('./scenario.mjs', import.meta.url)),
    scenario,
    variant,
  ],
  { stdio: 'inherit', env: { BENCH_MS: '3000', PLUGBOARD_LOG_LEVEL: 'warn', ...process.env } },
);
// Default names are CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; the lowest pid is the child.
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3]));
for (const [i, name] of files.entries()) {
  console.log(`\n=== ${i === 0 ? 'scenario child (caller / publisher)' : `peer ${i}`}: ${name}`);
  summarize(name);
}

function summarize(name) {
  const profile = JSON.parse(readFileSync(dir + name, 'utf8'));

  // Self time per node = its sample count; sum by function + location, and by source line.
  const hits = new Map();
  for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const self = new Map();
  const lines = new Map();
  const total = profile.samples.length;
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${url ? `${file}:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + (hits.get(node.id) ?? 0));
    const perLine = lines.get(key) ?? new Map();
    for (const t of node.positionTicks ?? []) {
      perLine.set(`${file}:${t.line}`, (perLine.get(`${file}:${t.line}`) ?? 0) + t.ticks);
    }
    lines.set(key, perLine);
  }
  const pct = (n) => `${((n / total) * 100).toFixed(1).padStart(5)}%`;
  console.log(`${total} samples; top self time (${dir}${name}):`);
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    const hot = [...lines.get(key)].sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(
      `${pct(n)}  ${key}${hot.length ? `   hot lines: ${hot.map(([l, t]) => `${l} ${pct(t).trim()}`).join(', ')}` : ''}`,
    );
  }
}
