// Run settings, overridable from the environment (the parent passes its environment on).
import process from 'node:process';
const num = (key, fallback) => Number(process.env[key] ?? fallback);

export const config = {
  /** Runs (fresh child processes) per variant; the report uses medians over them. */
  runs: Math.max(1, num('BENCH_RUNS', 5)),
  warmupMs: num('BENCH_WARMUP_MS', 300),
  /** Wall time of the counted window. */
  measureMs: num('BENCH_MS', 600),
  latencySamples: num('BENCH_LAT_SAMPLES', 20_000),
  latencyMaxMs: num('BENCH_LAT_MS', 300),
};
