// Turns the latest result file of each scenario into docs/benchmarks.md.
import { readFile, writeFile } from 'node:fs/promises';
import { URL, fileURLToPath } from 'node:url';
import { previousSections } from './report-previous.mjs';
import { metricValue, UNITS, withUnit, workloadTable } from './report-workload.mjs';
import { loadScenario } from './scenarios.mjs';
import { median, range } from './stats.mjs';

const DOC = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));

const fmtOps = (x) =>
  !Number.isFinite(x)
    ? '—'
    : x >= 1e6
      ? `${(x / 1e6).toFixed(2)} M`
      : x >= 1e3
        ? `${(x / 1e3).toFixed(1)} k`
        : x.toFixed(0);
const fmtNs = (ops) => (Number.isFinite(ops) ? `${(1e9 / ops).toFixed(0)}` : '—');
// Small ratios keep two significant digits (0.0048x, not 0.00x).
const fmtX = (x) =>
  !Number.isFinite(x) ? '—' : x < 0.095 ? `${x.toPrecision(2)}x` : `${x.toFixed(2)}x`;
const fmtUs = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const okRuns = (runs) => runs.filter((r) => !r.error && !r.invalid);

function summarizeVariant(v, runs = []) {
  const ok = okRuns(runs);
  const ops = ok.map((r) => r.opsPerSec);
  const [min, max] = range(ops);
  return {
    ...v,
    ran: runs.length > 0,
    ok: ok.length,
    total: runs.length,
    firstProblem: runs.find((r) => r.error || r.invalid),
    median: median(ops),
    min,
    max,
    p50: median(ok.map((r) => r.latency?.p50Us)),
    p99: median(ok.map((r) => r.latency?.p99Us)),
  };
}

/**
 * Per round, the best of several variants (`b` given as a list, e.g. "the fastest anchor"): the
 * highest ops/s or metric, or the lowest latency with `metric: 'p50'` / `'p99'`.
 */
function bestByRound(maps, metric) {
  const lower = metric === 'p50' || metric === 'p99';
  const best = new Map();
  for (const m of maps)
    for (const [round, x] of m) {
      if (!Number.isFinite(x)) continue;
      const prev = best.get(round);
      if (prev === undefined || (lower ? x < prev : x > prev)) best.set(round, x);
    }
  return best;
}

/**
 * Median over rounds of ops(a) / ops(b), both measured in the same round (with
 * `metric: 'p50'` or `'p99'`, of that latency(a) / latency(b) instead; with a workload's metric key, of
 * that metric). Without `b`: the median of a's own metric over its runs (an absolute figure,
 * in the metric's unit).
 */
function summarizeComparison(c, runs, metrics) {
  const value =
    c.metric === 'p50' || c.metric === 'p99'
      ? (r) => r.latency?.[`${c.metric}Us`]
      : c.metric
        ? (r) => metricValue(r, c.metric)
        : (r) => r.opsPerSec;
  const byRound = (id) => new Map(okRuns(runs[id] ?? []).map((r) => [r.round, value(r)]));
  const a = byRound(c.a);
  const b = !c.b
    ? null
    : Array.isArray(c.b)
      ? bestByRound(c.b.map(byRound), c.metric)
      : byRound(c.b);
  const ratios = b
    ? [...a].filter(([round]) => b.has(round)).map(([round, x]) => x / b.get(round))
    : [...a.values()];
  const ratio = median(ratios);
  const [min, max] = range(ratios);
  let met = null;
  if (c.target && Number.isFinite(ratio)) {
    const { op, value: v } = c.target;
    met = op === '>=' ? ratio >= v : op === '>' ? ratio > v : op === '<=' ? ratio <= v : ratio < v;
  }
  // Absolute figures carry their metric's unit; ratios are "x".
  const unit = b ? 'x' : (metrics?.find((m) => m.key === c.metric)?.unit ?? 'x');
  return { ...c, ratio, min, max, pairs: ratios.length, met, unit };
}

const OPS = { '>=': '≥', '>': '>', '<=': '≤', '<': '<' };
const fmtIn = (x, unit) => (unit === 'x' ? fmtX(x) : withUnit(x, unit));
/**
 * min – max, or (workload scenarios) worst – best: where lower is better (lateness, a ratio of
 * latencies: `lower: true` or an upper-bound target) the worst is the max, written first.
 */
const rangeText = (c, worstFirst) =>
  worstFirst && (c.lower || UNITS[c.unit]?.lower || c.target?.op?.startsWith('<'))
    ? `${fmtIn(c.max, c.unit)} – ${fmtIn(c.min, c.unit)}`
    : `${fmtIn(c.min, c.unit)} – ${fmtIn(c.max, c.unit)}`;
const targetText = (t, unit = 'x') =>
  t ? `${OPS[t.op]} ${unit === 'x' ? `${t.value}x` : withUnit(t.value, unit)}` : '';
const metText = (c) => (c.met === null ? (c.target ? 'n/a' : '') : c.met ? '**yes**' : '**NO**');

function scenarioSection(result, index) {
  const s = result.scenario;
  const variants = s.variants.map((v) => summarizeVariant(v, result.runs[v.id]));
  const comparisons = s.comparisons.map((c) => summarizeComparison(c, result.runs, s.metrics));
  const out = [`## ${index}. ${s.title}`, '', s.notes, ''];
  out.push(
    `Run ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC, load average at start ` +
      `${result.machine.loadAvgAtStart.join(' / ')}; ${result.config.runs} runs per variant, ` +
      (s.workload
        ? 'each a fixed workload'
        : `each ${result.config.warmupMs} ms warm-up + ${result.config.measureMs} ms measured`) +
      (result.source
        ? `; Plugboard at commit ${result.source.commit}` +
          (result.source.dirtySrcFiles
            ? ` + ${result.source.dirtySrcFiles} uncommitted src files`
            : '') +
          (result.source.distBuiltAt
            ? ` (\`dist/\` built ${result.source.distBuiltAt.slice(0, 16).replace('T', ' ')} UTC)`
            : '')
        : '') +
      '.',
    '',
  );
  if (result.skipped) return { out: [...out, `Skipped: ${result.skipped}.`, ''], comparisons: [] };
  if (!result.oursBuilt)
    out.push('**Plugboard was not built (`dist/index.js` missing): anchors only.**', '');

  const lat = s.latency;
  if (s.workload) out.push(...workloadTable(s, result.runs));
  else
    out.push(
      `| Implementation | Side | Median ops/s | ns/op | Min–max ops/s |${lat ? ' p50 µs | p99 µs |' : ''} Good runs |`,
      `|---|---|--:|--:|--:|${lat ? '--:|--:|' : ''}--:|`,
    );
  for (const v of s.workload ? [] : variants.filter((x) => x.ran)) {
    out.push(
      `| ${v.label} | ${v.side} | ${fmtOps(v.median)} | ${fmtNs(v.median)} | ` +
        `${fmtOps(v.min)} – ${fmtOps(v.max)} |${lat ? ` ${fmtUs(v.p50)} | ${fmtUs(v.p99)} |` : ''} ` +
        `${v.ok}/${v.total} |`,
    );
  }
  const problems = variants.filter((v) => v.firstProblem);
  for (const v of problems) {
    const p = v.firstProblem;
    out.push(
      '',
      `- ${v.label}: ${p.invalid ? `invalid run (${p.invalid})` : `error: \`${p.error.split('\n')[0]}\``}`,
    );
  }
  const shown = comparisons.filter((c) => c.pairs > 0);
  if (shown.length) {
    out.push(
      '',
      s.workload
        ? '| Ratio (median of paired runs) or figure (median of runs) | Value | Worst – best | Target | Met |'
        : '| Ratio (median of paired runs) | Value | Min–max | Target | Met |',
      '|---|--:|--:|--:|:-:|',
    );
    for (const c of shown) {
      out.push(
        `| ${c.label} | ${fmtIn(c.ratio, c.unit)} | ${rangeText(c, s.workload)} | ${targetText(c.target, c.unit)} | ${metText(c)} |`,
      );
    }
  }
  out.push('');
  return { out, comparisons: shown.map((c) => ({ ...c, scenario: s.title })) };
}

/** The versions measured (recorded by run.mjs since the anchors got their own package). */
function versionsLine(v) {
  if (!v) return '';
  return (
    `\n- Versions: Plugboard ${v.plugboard} on ioredis ${v.plugboardIoredis} (also the raw-ioredis ` +
    `floors); Moleculer ${v.moleculer} (its Redis transporter on ioredis ${v.moleculerIoredis}, ` +
    `NATS client ${v.nats}); EventEmitter2 ${v.eventemitter2}, mitt ${v.mitt}, emittery ${v.emittery}` +
    (v.bullmq
      ? `; BullMQ ${v.bullmq} (on the bench package's ioredis), bee-queue ${v.beeQueue}`
      : '') +
    (v.redlock
      ? `; redlock ${v.redlock.replace(/^v/, '')} and redis-semaphore ${v.redisSemaphore} (on the bench ` +
        `package's ioredis); cache-manager ${v.cacheManager} with @keyv/redis ${v.keyvRedis} and ` +
        `cacheable ${v.cacheable}`
      : '') +
    (v.cockatiel ? `; cockatiel ${v.cockatiel}, opossum ${v.opossum}` : '') +
    '.'
  );
}

const METHOD = `- \`npm run bench\` builds the package, installs the anchors (the libraries measured beside
  Plugboard: \`bench/package.json\`, its own package with its own lockfile, so their version ranges
  never constrain what Plugboard's users install) with \`npm ci --prefix bench\` when they are
  missing, and runs \`node bench/run.mjs\`. Plugboard is loaded from the built \`dist/\` with its
  own dependencies. \`node bench/run.mjs publish\`
  runs only the scenarios whose name contains \`publish\` (the other sections keep their last
  results). Raw per-run JSON is written to \`bench/results/\` (git-ignored).
- Every run of every variant is a **fresh child process** (\`node bench/scenario.mjs <scenario>
  <variant>\`): no JIT state, cache or garbage carries over between implementations.
- **Throughput**: warm-up, then operations are counted over a fixed wall-clock window. Each
  implementation runs its own tight loop in batches (~2 ms each) so the clock is read once per
  batch, not per operation. Async APIs are awaited one operation at a time; sync APIs are not.
- **Latency** (RPC): \`process.hrtime.bigint()\` around each call on a sample after the window.
- **Redis scenarios** (\`node bench/run.mjs redis\`): the child is the caller / publisher and
  forks its peers (provider, subscribers) fresh for every run (\`bench/peer.mjs\`); each run uses
  its own namespace on the shared Redis and deletes its keys afterwards. Operations there are
  counted where they complete (RPC results at the caller, deliveries at the subscribers), with a
  fixed number kept in flight; see each section. A ratio marked "p50" compares latencies (lower
  is better for ours).
- **Queue scenarios** (\`node bench/run.mjs queue\`): a fixed workload per run instead of a
  timed window (add 20,000 messages then process them; 100 delayed messages), producer and
  consumer in the child, each implementation under its own namespace or key prefix on the
  shared Redis, deleted afterwards; each section gives its metrics as the median over runs with
  the worst and best run beside it.
- **Lock and cache scenarios** (\`node bench/run.mjs lock\`, \`node bench/run.mjs cache\`): every
  client in the child process with its own connection(s) to the shared Redis, under its own
  namespace or key prefix (deleted afterwards); contending lock clients and 100-in-flight cache
  operations are kept busy by a pump, as in the Redis RPC scenario. For contended locks, p50/p99
  are of the cycles inside the window (waiting included); a "p99" ratio compares those.
- **Breaker and transactions scenarios** (\`node bench/run.mjs breaker\`, \`node bench/run.mjs
  transactions\`): the breaker scenario awaits one call at a time in one process (its ns/op is
  the whole cost of an awaited call); the transactions scenario keeps 1 or 32 transactions in
  flight, with p50/p99 of the transactions inside the window. A ratio against "the fastest
  anchor" takes, per round, the best of the listed anchor variants in that round.
- **Medians of 5 runs**; ours and the anchors alternate within a round (order reversed every
  other round). **Ratios are the headline**: for each round, ours ÷ anchor from runs taken back
  to back, then the median over rounds. Absolute ops/s depend heavily on machine load.
- Scenarios are one file each in \`bench/scenarios/\` (see \`bench/lib/scenarios.mjs\` for the
  shape); \`node bench/profile.mjs <scenario> <variant>\` profiles one variant (\`--cpu-prof\`);
  \`node bench/redis-calls.mjs <scenario> <variant>...\` runs Redis variants once each against a
  throwaway redis-server and prints, per message, the commands, read events (≈ round trips),
  Redis CPU and each script's server time.
- **Correctness check**: each child counts handler calls (and RPC results) and marks the run
  invalid unless every operation reached every handler it should have; invalid runs are
  excluded and listed.`;

const targetRow = (c) =>
  `| ${c.scenario} | ${c.label} | ${fmtIn(c.ratio, c.unit)} | ${rangeText(c, false)} | ` +
  `${targetText(c.target, c.unit)} | ${metText(c)} |`;

/**
 * A scenario without a result file here keeps its section (and Targets rows) from the previous
 * report, so running some scenarios never drops the others' last published figures.
 */
function carriedSection(title, index, previous) {
  const body = previous.sections.get(title);
  if (!body) return null;
  return {
    out: [`## ${index}. ${title}`, ...body],
    comparisons: [],
    targetRows: previous.targets.get(title) ?? [],
  };
}

export async function writeReport(resultsDir, names) {
  const previous = previousSections(await readFile(DOC, 'utf8').catch(() => ''));
  const results = [];
  const sections = [];
  const runLines = [];
  for (const name of names) {
    let result;
    try {
      result = JSON.parse(await readFile(`${resultsDir}latest-${name}.json`, 'utf8'));
    } catch {
      // Not run on this checkout: keep what the previous report said.
      const carried = carriedSection(
        (await loadScenario(name)).title,
        sections.length + 1,
        previous,
      );
      if (carried) {
        sections.push(carried);
        if (previous.runs.has(name)) runLines.push(previous.runs.get(name));
      }
      continue;
    }
    results.push(result);
    sections.push(scenarioSection(result, sections.length + 1));
    runLines.push(`${name} ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  }
  const m = results.at(-1)?.machine;
  const lines = [
    '# Benchmarks',
    '',
    '_Generated by `npm run bench` (`bench/run.mjs`). Do not edit by hand: rerun it._',
    '',
    '## Targets',
    '',
    '| Scenario | Ratio | Value | Min–max | Target | Met |',
    '|---|---|--:|--:|--:|:-:|',
    ...sections.flatMap((s) =>
      s.targetRows ? s.targetRows : s.comparisons.filter((c) => c.target).map(targetRow),
    ),
    '',
    '## Machine',
    '',
    m
      ? `- ${m.cpus} CPUs (${m.cpuModel}), ${m.platform}, Node ${m.node}.\n` +
        `- Scenario runs: ${runLines.join('; ')}.\n` +
        '- The machine is shared; the load average at the start of each scenario is given in its section.' +
        versionsLine(results.at(-1)?.versions)
      : previous.machine.length
        ? previous.machine.join('\n')
        : '- No results yet.',
    '',
    '## Method',
    '',
    METHOD,
    '',
    ...sections.flatMap((s) => s.out),
  ];
  await writeFile(DOC, lines.join('\n'));
  return DOC;
}
