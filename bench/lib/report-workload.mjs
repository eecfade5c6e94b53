// The results table of a workload scenario (a fixed job measured by its own metrics, e.g. the
// queue scenarios): per variant, each metric's median over the good runs and its worst – best.
import { median, range } from './stats.mjs';

const okRuns = (runs) => runs.filter((r) => !r.error && !r.invalid);

/** A workload run's value of `key` (its `metrics` object). */
export const metricValue = (run, key) => run.metrics?.[key];

const fixed = (digits) => (x) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/** How each metric unit is written, and whether lower is better (then the worst is the max). */
export const UNITS = {
  ops: {
    suffix: 'msg/s',
    lower: false,
    fmt: (x) => (!Number.isFinite(x) ? '—' : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0)),
  },
  ms: { suffix: 'ms', lower: true, fmt: fixed(1) },
  us: { suffix: 'µs', lower: true, fmt: fixed(0) },
};

/** `x` with its unit, e.g. `12.3 ms`, `4.5 k msg/s`. */
export const withUnit = (x, unit) => `${UNITS[unit].fmt(x)} ${UNITS[unit].suffix}`;

/** Markdown lines: one row per variant that ran, one column per metric. */
export function workloadTable(scenario, runs) {
  const metrics = scenario.metrics ?? [];
  const head = metrics.map((m) => `${m.label}, ${UNITS[m.unit].suffix} (worst – best)`);
  const out = [
    `| Implementation | Side | ${head.join(' | ')} | Good runs |`,
    `|---|---|${metrics.map(() => '--:|').join('')}--:|`,
  ];
  for (const v of scenario.variants) {
    const all = runs[v.id] ?? [];
    if (!all.length) continue;
    const ok = okRuns(all);
    const cells = metrics.map((m) => {
      const xs = ok.map((r) => metricValue(r, m.key));
      const [min, max] = range(xs);
      const { fmt, lower } = UNITS[m.unit];
      const [worst, best] = lower ? [max, min] : [min, max];
      return `**${fmt(median(xs))}** (${fmt(worst)} – ${fmt(best)})`;
    });
    out.push(`| ${v.label} | ${v.side} | ${cells.join(' | ')} | ${ok.length}/${all.length} |`);
  }
  return out;
}
