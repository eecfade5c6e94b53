// Child process: run one variant of one scenario once and print its result as a JSON line.
// Usage: node bench/scenario.mjs <scenario> <variant-id>
import process from 'node:process';
import { settingsFor } from './lib/config.mjs';
import { latency, throughput } from './lib/measure.mjs';
import { loadScenario, RESULT_PREFIX } from './lib/scenarios.mjs';

// Host lifecycle logs are noise here (and pino writes to stdout); warnings and errors still show.
process.env.PLUGBOARD_LOG_LEVEL ??= 'warn';

const [name, id] = process.argv.slice(2);

async function main() {
  const scenario = await loadScenario(name);
  const variant = scenario.variants.find((v) => v.id === id);
  if (!variant) throw new Error(`unknown variant ${name}/${id}`);
  const config = settingsFor(scenario);
  const run = await variant.setup();
  // A fixed workload (the queue scenarios) measures itself: no window, no warm-up loop here.
  if (run.workload) {
    try {
      const result = await run.workload();
      result.invalid ??= null;
      return result;
    } finally {
      await run.close?.();
    }
  }
  const result = await throughput(run.batch, config);
  let totalOps = result.ops + result.warmupOps;
  if (scenario.latency && run.once) {
    result.latency = await latency(run.once, {
      samples: config.latencySamples,
      maxMs: config.latencyMaxMs,
    });
    totalOps += result.latency.samples;
  } else if (scenario.latency && run.latencyStats) {
    // Taken by the run itself during the window (see latencyRecorder in lib/measure.mjs).
    result.latency = run.latencyStats();
  }
  // Every operation must have reached every handler it was due to reach.
  // (`verify` may be async: multi-process scenarios ask their peers for their counts.)
  // Every operation the run made (window, warm-up, latency sample): per-op figures divide by it.
  result.totalOps = totalOps;
  result.invalid = run.verify
    ? await run.verify(totalOps)
    : run.delivered() === totalOps * run.perOp
      ? null
      : `delivered ${run.delivered()} of ${totalOps * run.perOp} handler calls`;
  await run.close?.();
  return result;
}

main().then(
  (result) => {
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    // Some libraries keep timers alive; the result is out, so leave now.
    process.exit(0);
  },
  (err) => {
    process.stdout.write(
      `${RESULT_PREFIX}${JSON.stringify({ error: String(err?.stack ?? err) })}\n`,
    );
    process.exit(1);
  },
);
