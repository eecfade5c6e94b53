// Scenario: delayed delivery lateness (100 messages due 200 ms ahead; lateness p50/p99 in ms).
import { openBeeQueue, openBullMQ, openPlugboard } from '../lib/queue-adapters.mjs';
import { DELAYED, delayedRun } from '../lib/queue-workloads.mjs';
import { redisScenarioAvailable } from '../lib/remote.mjs';

const { messages, delayMs, concurrency } = DELAYED;

export default {
  name: 'queue-delayed',
  title: `Delayed delivery lateness (${messages} messages due in ${delayMs} ms; ms late)`,
  notes: `Each run is a fresh child process with one implementation on the shared local Redis (its
own namespace or key prefix, whose keys it deletes afterwards). A consumer with concurrency
${concurrency} (so no message waits for a free slot) is started and warmed up with ${messages}
immediate messages; then ${messages} messages are sent at once, each with a ${delayMs} ms delay,
its due time taken from the process clock just before its send call. **Lateness = handler start
− due time** (ms, sub-ms clock); p50, p99 and max are over the ${messages} messages of a run, and
the table gives the median of each over the runs. Each run checks that every message ran once
and none ran early (a 2 ms tolerance for libraries that stamp due times in whole ms).

- **Plugboard**: \`messageQueue.send(queue, data, { delay: ${delayMs} })\` (the backend's
  clock), on Redis and on the embedded backend.
- **BullMQ 6**: \`queue.add('job', data, { delay: ${delayMs} })\`; the Worker promotes delayed jobs.
- **bee-queue 2**: \`createJob(data).delayUntil(Date.now() + ${delayMs}).save()\`; the worker
  queue has \`activateDelayedJobs: true\` with the default \`delayedDebounce\` (1000 ms, the window
  across which bee-queue groups delayed jobs before activating them).

Target: p99 lateness < 20 ms on Redis. Ratios are of p99 lateness (lower is better for ours).`,
  workload: true,
  metrics: [
    { key: 'p50', label: 'p50 late', unit: 'ms' },
    { key: 'p99', label: 'p99 late', unit: 'ms' },
    { key: 'max', label: 'max late', unit: 'ms' },
  ],
  childTimeoutMs: 120_000,
  available: redisScenarioAvailable,
  variants: [
    {
      id: 'ours',
      side: 'ours',
      label: 'Plugboard, Redis',
      setup: async () => delayedRun(() => openPlugboard('redis')),
    },
    { id: 'bull', side: 'anchor', label: 'BullMQ 6', setup: async () => delayedRun(openBullMQ) },
    {
      id: 'mem',
      side: 'ours',
      label: 'Plugboard, embedded',
      setup: async () => delayedRun(() => openPlugboard('memory')),
    },
    {
      id: 'bee',
      side: 'anchor',
      label: 'bee-queue 2',
      setup: async () => delayedRun(openBeeQueue),
    },
  ],
  comparisons: [
    {
      label: 'ours (Redis), p99 lateness',
      a: 'ours',
      metric: 'p99',
      target: { op: '<', value: 20 },
    },
    { label: 'ours (embedded), p99 lateness', a: 'mem', metric: 'p99' },
    {
      label: 'ours (Redis) ÷ BullMQ, p99 lateness (lower is better)',
      a: 'ours',
      b: 'bull',
      metric: 'p99',
      lower: true,
    },
    {
      label: 'ours (Redis) ÷ bee-queue, p99 lateness (lower is better)',
      a: 'ours',
      b: 'bee',
      metric: 'p99',
      lower: true,
    },
  ],
};
