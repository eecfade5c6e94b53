// The two queue workloads, run the same way against every adapter (lib/queue-adapters.mjs).
// A workload is a fixed job, not a timed window: `setup()` of a queue variant resolves with
// `{ workload(), close() }` and the child (bench/scenario.mjs) records what workload() returns:
// `{ opsPerSec, metrics: { name: number }, handled (messages through the backend), invalid }`.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { percentile } from './stats.mjs';
import { withTimeout } from './remote.mjs';

/** Messages per throughput run, and how many are added per chunk. */
export const MESSAGES = Number(process.env.BENCH_QUEUE_N ?? 20_000);
export const CHUNK = 1000;
/** Messages that go through add → process first, on another queue, to warm the JIT. */
const WARMUP = Math.min(2000, MESSAGES);
const DONE_WITHIN_MS = 100_000;

/** Wall-clock ms with sub-ms resolution (lateness is compared with due times in ms). */
const now = () => performance.timeOrigin + performance.now();

const payload = (seq) => ({ seq, n: 1, email: 'ada@example.com' });

/** Counts each message's deliveries by `seq`; `done` resolves once `n` handler calls ran. */
function tracker(n) {
  const seen = new Uint8Array(n);
  let calls = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  return {
    handler: (data) => {
      if (data.seq >= 0 && data.seq < n && seen[data.seq] < 255) seen[data.seq]++;
      if (++calls === n) resolve();
    },
    done,
    calls: () => calls,
    /** null when every message ran exactly once, else what went wrong. */
    problem() {
      let missing = 0;
      let repeated = 0;
      for (const x of seen) {
        if (x === 0) missing++;
        else if (x > 1) repeated++;
      }
      return missing || repeated
        ? `${calls} handler calls for ${n} messages: ${missing} never ran, ${repeated} ran more than once`
        : null;
    },
  };
}

async function addAll(queue, n) {
  for (let i = 0; i < n; i += CHUNK) {
    const chunk = [];
    for (let seq = i; seq < Math.min(n, i + CHUNK); seq++) chunk.push(payload(seq));
    await queue.add(chunk);
  }
}

/** CPU time this process used (user + system), µs: unlike wall time, barely moved by load. */
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * Add `n`, then process them all with a consumer of `concurrency`; returns the wall times and
 * this process's CPU time in both phases.
 */
async function addThenProcess(queue, n, concurrency) {
  const t = tracker(n);
  const consumer = await queue.prepare(t.handler, concurrency);
  const c0 = cpuUs();
  const t0 = now();
  await addAll(queue, n);
  const t1 = now();
  consumer.start();
  await withTimeout(t.done, DONE_WITHIN_MS, `processing (${t.calls()} of ${n} ran)`);
  const t2 = now();
  const cpu = cpuUs() - c0;
  return { t, consumer, addMs: t1 - t0, processMs: t2 - t1, cpuUs: cpu };
}

/** Poll (bounded) until the backend holds nothing for the queue: every message acknowledged. */
async function drained(queue, ms = 10_000) {
  const end = Date.now() + ms;
  let left = await queue.left();
  while (left > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    left = await queue.left();
  }
  return left;
}

/**
 * Throughput: add MESSAGES (no consumer running), then start a consumer of `concurrency` and
 * process them all. add/s, process/s, and end to end = messages ÷ (add time + process time);
 * cpu = this process's CPU µs per message over both phases (producer and consumer together).
 * A warm-up of WARMUP messages runs the same steps on another queue first.
 */
export function throughputRun(open, concurrency) {
  let impl = null;
  return {
    async workload() {
      impl = await open();
      const warm = await addThenProcess(impl.queue('warmup'), WARMUP, concurrency);
      await warm.consumer.stop();
      const queue = impl.queue('jobs');
      const { t, consumer, addMs, processMs, cpuUs } = await addThenProcess(
        queue,
        MESSAGES,
        concurrency,
      );
      const left = await drained(queue);
      await consumer.stop();
      const perSec = (ms) => (MESSAGES / ms) * 1e3;
      const metrics = {
        add: perSec(addMs),
        process: perSec(processMs),
        e2e: perSec(addMs + processMs),
        cpu: cpuUs / MESSAGES,
      };
      const invalid =
        warm.t.problem() ??
        t.problem() ??
        (left > 0 ? `${left} messages still in the backend after processing` : null);
      return { opsPerSec: metrics.e2e, metrics, handled: WARMUP + MESSAGES, invalid };
    },
    close: () => impl?.close(),
  };
}

/** Delayed delivery: how many messages, due how far ahead, and the consumer's concurrency. */
export const DELAYED = { messages: 100, delayMs: 200, concurrency: 100 };
const EARLY_TOLERANCE_MS = 2;

/**
 * Delayed delivery lateness: a consumer (concurrency 100, so no message waits for a free slot)
 * is running and warmed up (100 immediate messages), then 100 messages are sent at once, each
 * due 200 ms after its send call starts. Lateness = handler start − due time, in ms.
 */
export function delayedRun(open) {
  let impl = null;
  return {
    async workload() {
      impl = await open();
      const { messages, delayMs, concurrency } = DELAYED;
      const queue = impl.queue('delayed');
      const lateness = [];
      const warm = tracker(messages);
      const t = tracker(messages);
      let warming = true;
      const consumer = await queue.prepare((data) => {
        if (warming) return warm.handler(data);
        lateness.push(now() - data.due);
        t.handler(data);
      }, concurrency);
      consumer.start();
      await queue.add(Array.from({ length: messages }, (_, seq) => payload(seq)));
      await withTimeout(warm.done, DONE_WITHIN_MS, `warm-up (${warm.calls()} ran)`);
      warming = false;
      const sends = [];
      for (let seq = 0; seq < messages; seq++) {
        const data = { ...payload(seq), due: now() + delayMs };
        sends.push(queue.addDelayed([data], delayMs));
      }
      await Promise.all(sends);
      await withTimeout(t.done, DONE_WITHIN_MS, `delayed messages (${t.calls()} ran)`);
      const left = await drained(queue);
      await consumer.stop();
      const sorted = Float64Array.from(lateness).sort();
      const metrics = {
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1],
        // Due times are taken from this process's clock before each send; a library that
        // stamps with Date.now() (whole ms) may run a message up to 1 ms "early".
        early: sorted.filter((x) => x < -EARLY_TOLERANCE_MS).length,
      };
      const invalid =
        warm.problem() ??
        t.problem() ??
        (metrics.early ? `${metrics.early} messages ran before they were due` : null) ??
        (left > 0 ? `${left} messages still in the backend after processing` : null);
      return { opsPerSec: NaN, metrics, handled: 2 * messages, invalid };
    },
    close: () => impl?.close(),
  };
}
