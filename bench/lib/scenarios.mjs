// The scenario list, in report order. A scenario is one file in `bench/scenarios/` whose default
// export is `{ name, title, notes, latency?, available?, variants, comparisons }`:
// - `variants[]`: `{ id, side: 'ours' | 'anchor', label, setup }`; `setup()` resolves with
//   `{ batch(n), once?(), latencyStats?(), perOp?, delivered?(), verify?(ops) (may be async),
//   close?() }`. With `latency: true`, p50/p99 come from timing `once()` after the window, or,
//   for runs whose operations contend with each other, from `latencyStats()` (the run's own
//   samples taken during the window, see `latencyRecorder` in lib/measure.mjs).
// - `comparisons[]`: `{ label, a, b, metric?, target?: { op: '>=' | '<' | '<=', value } }`,
//   ratio = ops/s of a ÷ b (or, with `metric: 'p50'` / `'p99'`, that latency of a ÷ b), per round.
//   `b` may be a list of variant ids: per round, the best of them (e.g. the fastest anchor).
// - `workload: true` (optional): a fixed job instead of a timed window. `setup()` then resolves
//   with `{ workload(), close?() }`; workload() resolves with `{ opsPerSec, metrics, invalid }`
//   and the scenario lists its `metrics: [{ key, label, unit: 'ops' | 'ms' }]` (report columns).
//   A comparison may then name a `metric` key; without `b` it reports a's own median (e.g. a
//   latency against an absolute target). `childTimeoutMs` raises the 120 s bound of one run.
// - `available()` (optional): resolves with a reason string to skip the scenario (e.g. no Redis).
// - `peers` (optional): `{ [role]: (options, link) => commands }` run in forked peer processes
//   (`bench/peer.mjs`, started with `startPeer()` from `lib/remote.mjs`).
// To add one (say `redis-publish`), write the file and add its name here.
import { URL } from 'node:url';
export const SCENARIOS = [
  'publish',
  'wildcard',
  'rpc',
  'redis-rpc',
  'redis-events',
  'queue-throughput',
  'queue-delayed',
  'lock',
  'cache',
  'cache-local',
  'breaker',
  'transactions',
];

export async function loadScenario(name) {
  const mod = await import(new URL(`../scenarios/${name}.mjs`, import.meta.url).href);
  return mod.default;
}

/** Marks the child's result line on stdout (libraries may log there too). */
export const RESULT_PREFIX = 'BENCH_RESULT ';
