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

/**
 * The settings for one scenario: the environment's, with the scenario's own `settings` on top
 * (e.g. a longer warm-up where a multi-process latency would otherwise measure JIT warm-up).
 * Environment variables still win, so a run can always be reproduced with explicit values.
 */
export function settingsFor(scenario) {
  const own = scenario.settings ?? {};
  const pick = (key, envKey) =>
    process.env[envKey] !== undefined ? config[key] : (own[key] ?? config[key]);
  return {
    ...config,
    warmupMs: pick('warmupMs', 'BENCH_WARMUP_MS'),
    measureMs: pick('measureMs', 'BENCH_MS'),
  };
}
