// Turns the latest result file of each scenario into docs/benchmarks.md.
import { readFile, writeFile } from 'node:fs/promises';
import { URL, fileURLToPath } from 'node:url';
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
const fmtX = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '—');
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
 * Median over rounds of ops(a) / ops(b), both measured in the same round (with
 * `metric: 'p50'`, of p50 latency(a) / p50 latency(b) instead).
 */
function summarizeComparison(c, runs) {
  const value = c.metric === 'p50' ? (r) => r.latency?.p50Us : (r) => r.opsPerSec;
  const byRound = (id) => new Map(okRuns(runs[id] ?? []).map((r) => [r.round, value(r)]));
  const a = byRound(c.a);
  const b = byRound(c.b);
  const ratios = [...a].filter(([round]) => b.has(round)).map(([round, x]) => x / b.get(round));
  const ratio = median(ratios);
  const [min, max] = range(ratios);
  let met = null;
  if (c.target && Number.isFinite(ratio)) {
    met =
      c.target.op === '>='
        ? ratio >= c.target.value
        : c.target.op === '<='
          ? ratio <= c.target.value
          : ratio < c.target.value;
  }
  return { ...c, ratio, min, max, pairs: ratios.length, met };
}

const OPS = { '>=': '≥', '<=': '≤', '<': '<' };
const targetText = (t) => (t ? `${OPS[t.op]} ${t.value}x` : '');
const metText = (c) => (c.met === null ? (c.target ? 'n/a' : '') : c.met ? '**yes**' : '**NO**');

function scenarioSection(result, index) {
  const s = result.scenario;
  const variants = s.variants.map((v) => summarizeVariant(v, result.runs[v.id]));
  const comparisons = s.comparisons.map((c) => summarizeComparison(c, result.runs));
  const out = [`## ${index}. ${s.title}`, '', s.notes, ''];
  out.push(
    `Run ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC, load average at start ` +
      `${result.machine.loadAvgAtStart.join(' / ')}; ${result.config.runs} runs per variant, ` +
      `each ${result.config.warmupMs} ms warm-up + ${result.config.measureMs} ms measured` +
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
  out.push(
    `| Implementation | Side | Median ops/s | ns/op | Min–max ops/s |${lat ? ' p50 µs | p99 µs |' : ''} Good runs |`,
    `|---|---|--:|--:|--:|${lat ? '--:|--:|' : ''}--:|`,
  );
  for (const v of variants.filter((x) => x.ran)) {
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
      '| Ratio (median of paired runs) | Value | Min–max | Target | Met |',
      '|---|--:|--:|--:|:-:|',
    );
    for (const c of shown) {
      out.push(
        `| ${c.label} | ${fmtX(c.ratio)} | ${fmtX(c.min)} – ${fmtX(c.max)} | ${targetText(c.target)} | ${metText(c)} |`,
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
    `NATS client ${v.nats}); EventEmitter2 ${v.eventemitter2}, mitt ${v.mitt}, emittery ${v.emittery}.`
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
- **Medians of 5 runs**; ours and the anchors alternate within a round (order reversed every
  other round). **Ratios are the headline**: for each round, ours ÷ anchor from runs taken back
  to back, then the median over rounds. Absolute ops/s depend heavily on machine load.
- Scenarios are one file each in \`bench/scenarios/\` (see \`bench/lib/scenarios.mjs\` for the
  shape); \`node bench/profile.mjs <scenario> <variant>\` profiles one variant (\`--cpu-prof\`).
- **Correctness check**: each child counts handler calls (and RPC results) and marks the run
  invalid unless every operation reached every handler it should have; invalid runs are
  excluded and listed.`;

export async function writeReport(resultsDir, names) {
  const results = [];
  for (const name of names) {
    try {
      results.push(JSON.parse(await readFile(`${resultsDir}latest-${name}.json`, 'utf8')));
    } catch {
      // Not run yet.
    }
  }
  const sections = results.map((r, i) => scenarioSection(r, i + 1));
  const targets = sections.flatMap((s) => s.comparisons).filter((c) => c.target);
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
    ...targets.map(
      (c) =>
        `| ${c.scenario} | ${c.label} | ${fmtX(c.ratio)} | ${fmtX(c.min)} – ${fmtX(c.max)} | ${targetText(c.target)} | ${metText(c)} |`,
    ),
    '',
    '## Machine',
    '',
    m
      ? `- ${m.cpus} CPUs (${m.cpuModel}), ${m.platform}, Node ${m.node}.\n` +
        `- Scenario runs: ${results.map((r) => `${r.scenario.name} ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`).join('; ')}.\n` +
        '- The machine is shared; the load average at the start of each scenario is given in its section.' +
        versionsLine(results.at(-1)?.versions)
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
