// Timing loops used inside a child process. Each variant supplies its own tight loop
// (`batch(n)`), so the harness costs one clock read per batch, not per operation: reading the
// clock per op would cost more than a synchronous EventEmitter emit.
import process from 'node:process';
import { percentile } from './stats.mjs';

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const BATCH_TARGET_MS = 2;

async function runBatch(batch, n) {
  const r = batch(n);
  if (r && typeof r.then === 'function') await r;
}

/**
 * Warm up for `warmupMs` (growing the batch until one batch takes ~2 ms), then count operations
 * for `measureMs` of wall time. Returns the ops done in each phase so the child can check that
 * every operation really reached its handlers.
 */
export async function throughput(batch, { warmupMs, measureMs }) {
  let n = 1;
  let warmupOps = 0;
  const warmEnd = nowMs() + warmupMs;
  while (nowMs() < warmEnd) {
    const t0 = nowMs();
    await runBatch(batch, n);
    warmupOps += n;
    if (nowMs() - t0 < BATCH_TARGET_MS && n < 1 << 20) n *= 2;
  }
  let ops = 0;
  const start = nowMs();
  let end;
  do {
    await runBatch(batch, n);
    ops += n;
    end = nowMs();
  } while (end - start < measureMs);
  const elapsedMs = end - start;
  return { ops, warmupOps, batchSize: n, elapsedMs, opsPerSec: (ops / elapsedMs) * 1e3 };
}

/** Time single operations with hrtime: up to `samples` ops or `maxMs`, whichever comes first. */
export async function latency(once, { samples, maxMs }) {
  const ns = new Float64Array(samples);
  const deadline = nowMs() + maxMs;
  let i = 0;
  for (; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    const r = once();
    if (r && typeof r.then === 'function') await r;
    ns[i] = Number(process.hrtime.bigint() - t0);
    if ((i & 255) === 255 && nowMs() > deadline) {
      i++;
      break;
    }
  }
  const sorted = ns.subarray(0, i).sort();
  return {
    samples: i,
    p50Us: percentile(sorted, 50) / 1e3,
    p99Us: percentile(sorted, 99) / 1e3,
  };
}

/**
 * Per-operation latencies taken inside the measured loop itself, for runs where a separate
 * one-at-a-time sample cannot show the figure (operations that contend with each other). Keeps
 * the last `max` samples (a ring), so the figures describe the end of the run, past warm-up.
 * `start()` returns a stamp; `stop(stamp)` records the time since.
 */
export function latencyRecorder(max) {
  const ns = new Float64Array(max);
  let count = 0;
  return {
    start: () => process.hrtime.bigint(),
    stop(t0) {
      ns[count % max] = Number(process.hrtime.bigint() - t0);
      count++;
    },
    stats() {
      const sorted = ns.slice(0, Math.min(count, max)).sort();
      return {
        samples: sorted.length,
        p50Us: percentile(sorted, 50) / 1e3,
        p99Us: percentile(sorted, 99) / 1e3,
      };
    },
  };
}
