// Scenario: message-queue throughput, add N then process them all (Plugboard on Redis and on
// the embedded backend, BullMQ, bee-queue), at consumer concurrency 1 and 50.
import { openBeeQueue, openBullMQ, openPlugboard } from '../lib/queue-adapters.mjs';
import { CHUNK, MESSAGES, throughputRun } from '../lib/queue-workloads.mjs';
import { redisScenarioAvailable } from '../lib/remote.mjs';

const IMPLS = [
  { key: 'ours', side: 'ours', label: 'Plugboard, Redis', open: () => openPlugboard('redis') },
  { key: 'bull', side: 'anchor', label: 'BullMQ 6', open: openBullMQ },
  { key: 'bee', side: 'anchor', label: 'bee-queue 2', open: openBeeQueue },
  { key: 'mem', side: 'ours', label: 'Plugboard, embedded', open: () => openPlugboard('memory') },
];
const CONCURRENCY = [1, 50];

/** Ours at concurrency 1 with a larger prefetch: the claim round trip shared by many messages. */
const PREFETCH = 100;

const variants = [
  ...CONCURRENCY.flatMap((c) =>
    IMPLS.map((impl) => ({
      id: `${impl.key}-c${c}`,
      side: impl.side,
      label: `${impl.label}, concurrency ${c}`,
      setup: async () => throughputRun(impl.open, c),
    })),
  ),
  {
    id: `ours-c1-p${PREFETCH}`,
    side: 'ours',
    label: `Plugboard, Redis, concurrency 1, \`prefetch: ${PREFETCH}\``,
    setup: async () => throughputRun(() => openPlugboard('redis', { prefetch: PREFETCH }), 1),
  },
];

const METRICS = [
  { key: 'e2e', label: 'end to end' },
  { key: 'add', label: 'add' },
  { key: 'process', label: 'process' },
];

const comparisons = CONCURRENCY.flatMap((c) => [
  ...METRICS.map((m) => ({
    label: `ours (Redis) ÷ BullMQ, ${m.label}, concurrency ${c}`,
    a: `ours-c${c}`,
    b: `bull-c${c}`,
    metric: m.key,
    target: m.key === 'e2e' ? { op: '>=', value: c === 1 ? 3 : 2 } : undefined,
  })),
  ...METRICS.map((m) => ({
    label: `ours (Redis) ÷ bee-queue, ${m.label}, concurrency ${c}`,
    a: `ours-c${c}`,
    b: `bee-c${c}`,
    metric: m.key,
    target: m.key === 'e2e' ? { op: '>', value: 1 } : undefined,
  })),
  ...(c === 1
    ? [
        {
          label: `ours (Redis, \`prefetch: ${PREFETCH}\`) ÷ BullMQ, end to end, concurrency 1`,
          a: `ours-c1-p${PREFETCH}`,
          b: 'bull-c1',
          metric: 'e2e',
        },
      ]
    : []),
  {
    label: `ours (embedded) ÷ ours (Redis), end to end, concurrency ${c}`,
    a: `mem-c${c}`,
    b: `ours-c${c}`,
    metric: 'e2e',
  },
]);

const n = MESSAGES.toLocaleString('en-US');
const chunk = CHUNK.toLocaleString('en-US');

export default {
  name: 'queue-throughput',
  title: `Message queue throughput (add ${n}, then process them all; messages/s)`,
  notes: `Each run is a fresh child process with one implementation on the shared local Redis (its
own namespace or key prefix, whose keys it deletes afterwards). Producer and consumer are in that
one process. A run adds **${n} messages** \`{ seq, n, email }\` with no consumer running
(**add**/s), then starts a consumer and times until every handler has run (**process**/s);
**end to end** = ${n} ÷ (add time + process time). The consumer is connected before the process
timer starts; after the timer stops the run waits (untimed) until the backend holds nothing for
the queue, so every message was also acknowledged. Before that, 2,000 messages go through the
same steps on another queue to warm the JIT. Each run checks that every message's handler ran
exactly once. Handlers are synchronous no-ops that count the call (async for the anchors, which
require a promise). Adding is each library's fastest honest way to add individually
acknowledged messages, in chunks of ${chunk} (each chunk issued at once, then awaited):

- **Plugboard**: a host with one plugin; \`context.messageQueue.send('bench.jobs', data)\`, the
  ${chunk} sends of a chunk issued concurrently (the message queue sends the sends of one tick
  to one queue as one batch); \`receive('bench.jobs', handler, { concurrency })\` (acks of one
  event-loop turn go as one batch). On Redis (\`backend: { redis, namespace }\`) and on the
  embedded backend (the default, in process), both with \`parity: false\`. \`prefetch\` is left
  at its default (adaptive: up to concurrency + max(64, concurrency), as far as the handlers are
  fast), except in the row marked \`prefetch: ${PREFETCH}\` (at concurrency 1 each claim then leases
  up to ${PREFETCH} messages: one claim round trip for many messages; neither anchor has such
  an option).
- **BullMQ 6**: \`queue.addBulk(jobs)\` per chunk (one MULTI of add-job scripts); a \`Worker\` with
  \`concurrency\`; jobs removed on completion (\`removeOnComplete: true\`), as an acknowledged
  message is removed.
- **bee-queue 2**: \`queue.saveAll(jobs)\` per chunk (pipelined); a worker queue with
  \`process(concurrency, handler)\`, \`removeOnSuccess: true\`; job events off on both queues
  (\`getEvents\`/\`sendEvents: false\`, \`storeJobs: false\`): Plugboard's send does not report
  completion either.

**Client CPU per message** is the child process's CPU time (user + system) over add and
process, divided by ${n}: the work the library does on the application's side, which machine
load barely moves (wall-clock rates on this shared machine move a lot), while Redis's own work
is not in it. Ratios are paired per round (runs taken back to back); the targets are on end to
end.`,
  workload: true,
  metrics: [
    ...METRICS.map((m) => ({ ...m, unit: 'ops' })),
    { key: 'cpu', label: 'client CPU per message', unit: 'us' },
  ],
  childTimeoutMs: 300_000,
  available: redisScenarioAvailable,
  variants,
  comparisons,
};
