// Runs the benchmark scenarios and regenerates docs/benchmarks.md.
// Usage: node bench/run.mjs [filter...]   (a filter selects scenarios whose name contains it;
// `=name` selects exactly that scenario)
// Settings (runs, warm-up, window) come from the environment: see lib/config.mjs.
// The anchors are bench/package.json's own dependencies: `npm run bench` installs them (or run
// `npm ci --prefix bench` once before calling this file directly).
//
// Every run of every variant is a fresh child process, so JIT state, caches and garbage from
// one implementation never leak into another. Within a round the variants run back to back,
// ours and anchors alternating (order reversed every other round), so each round yields paired
// ratios taken under the same machine load; the report uses the median of those.
import { execFile, execFileSync } from 'node:child_process';
import console from 'node:console';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { config, settingsFor } from './lib/config.mjs';
import { plugboardBuilt } from './lib/plugboard.mjs';
import { writeReport } from './lib/report.mjs';
import { withUnit } from './lib/report-workload.mjs';
import { loadScenario, RESULT_PREFIX, SCENARIOS } from './lib/scenarios.mjs';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const CHILD = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const RUNS = config.runs;

function runChild(scenario, id, timeout = 120_000) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CHILD, scenario, id],
      {
        timeout,
        maxBuffer: 16 << 20,
        env: { PLUGBOARD_LOG_LEVEL: 'warn', ...process.env },
      },
      (err, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
        if (line) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
        resolve({ error: String(err?.message ?? 'no result') + '\n' + stderr.slice(-2000) });
      },
    );
  });
}

/** ours, anchor, ours, anchor, ... then the leftovers of the longer list. */
function interleave(variants) {
  const ours = variants.filter((v) => v.side === 'ours');
  const anchors = variants.filter((v) => v.side !== 'ours');
  const out = [];
  for (let i = 0; i < Math.max(ours.length, anchors.length); i++) {
    if (ours[i]) out.push(ours[i]);
    if (anchors[i]) out.push(anchors[i]);
  }
  return out;
}

function machine() {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Installed versions of what is measured: ours (and its ioredis) and every anchor. */
function versions() {
  const version = (path) => {
    try {
      return JSON.parse(readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8'))
        .version;
    } catch {
      return null;
    }
  };
  const anchor = (name) => version(`./node_modules/${name}/package.json`);
  return {
    plugboard: version('../package.json'),
    plugboardIoredis: version('../node_modules/ioredis/package.json'),
    moleculer: anchor('moleculer'),
    moleculerIoredis: anchor('ioredis'),
    nats: anchor('nats'),
    eventemitter2: anchor('eventemitter2'),
    mitt: anchor('mitt'),
    emittery: anchor('emittery'),
    bullmq: anchor('bullmq'),
    beeQueue: anchor('bee-queue'),
    redlock: anchor('redlock-v5'),
    redisSemaphore: anchor('redis-semaphore'),
    cacheManager: anchor('cache-manager'),
    keyvRedis: anchor('@keyv/redis'),
    cacheable: anchor('cacheable'),
    cockatiel: anchor('cockatiel'),
    opossum: anchor('opossum'),
  };
}

/**
 * Which source was measured: the commit, and how many files under src/ differ from it. Taken
 * once at start, right after `npm run build`, so it describes the dist/ every scenario uses.
 */
function source() {
  const git = (...args) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  // When dist/ was built: `node bench/run.mjs` alone does not build, so src may have moved on.
  let distBuiltAt = null;
  try {
    distBuiltAt = statSync(
      fileURLToPath(new URL('../dist/index.js', import.meta.url)),
    ).mtime.toISOString();
  } catch {
    // Not built.
  }
  try {
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
    return { commit: git('rev-parse', '--short', 'HEAD'), dirtySrcFiles: dirty, distBuiltAt };
  } catch {
    return { commit: 'unknown', dirtySrcFiles: 0, distBuiltAt };
  }
}

const SOURCE = source();

const fmtOps = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`);

/** One run's figures for the console: ops/s (and latency), or a workload's own metrics. */
function describe(r, metrics) {
  if (r.error) return `ERROR ${r.error.split('\n')[0]}`;
  const what = metrics
    ? metrics
        .map((m) => {
          const x = r.metrics?.[m.key];
          return `${m.label} ${withUnit(x, m.unit)}`;
        })
        .join(', ')
    : `${fmtOps(r.opsPerSec)} ops/s` + (r.latency ? `, p50 ${r.latency.p50Us.toFixed(2)} µs` : '');
  return what + (r.invalid ? `  INVALID: ${r.invalid}` : '');
}

async function runScenario(name) {
  const scenario = await loadScenario(name);
  const skipped = (await scenario.available?.()) ?? null;
  const built = plugboardBuilt();
  const variants = interleave(scenario.variants.filter((v) => built || v.side !== 'ours'));
  const result = {
    scenario: {
      name: scenario.name,
      title: scenario.title,
      notes: scenario.notes,
      latency: Boolean(scenario.latency),
      workload: Boolean(scenario.workload),
      metrics: scenario.metrics,
      variants: scenario.variants.map(({ id, side, label }) => ({ id, side, label })),
      comparisons: scenario.comparisons,
    },
    config: settingsFor(scenario),
    machine: machine(),
    versions: versions(),
    startedAt: new Date().toISOString(),
    skipped,
    oursBuilt: built,
    source: SOURCE,
    runs: Object.fromEntries(variants.map((v) => [v.id, []])),
  };
  if (skipped) {
    console.log(`${name}: skipped (${skipped})`);
  } else {
    if (!built) console.log(`${name}: dist/index.js missing, running anchors only`);
    for (let round = 0; round < RUNS; round++) {
      const order = round % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        const r = await runChild(name, v.id, scenario.childTimeoutMs);
        result.runs[v.id].push({ round, ...r });
        console.log(
          `${name} ${round + 1}/${RUNS} ${v.id.padEnd(22)} ${describe(r, scenario.metrics)}`,
        );
      }
    }
  }
  result.finishedAt = new Date().toISOString();
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  await writeFile(`${RESULTS}${stamp}-${name}.json`, JSON.stringify(result, null, 2));
  await writeFile(`${RESULTS}latest-${name}.json`, JSON.stringify(result, null, 2));
}

async function main() {
  if (!existsSync(fileURLToPath(new URL('./node_modules/.package-lock.json', import.meta.url)))) {
    throw new Error(
      'The benchmark anchors are not installed: run `npm ci --prefix bench` (npm run bench does).',
    );
  }
  const filters = process.argv.slice(2);
  const selected = SCENARIOS.filter(
    (s) =>
      !filters.length ||
      filters.some((f) => (f.startsWith('=') ? s === f.slice(1) : s.includes(f))),
  );
  if (!selected.length) throw new Error(`no scenario matches ${filters.join(', ')}`);
  await mkdir(RESULTS, { recursive: true });
  const t0 = Date.now();
  for (const name of selected) await runScenario(name);
  const doc = await writeReport(RESULTS, SCENARIOS);
  console.log(`\nwrote ${doc} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
