// One small adapter per message-queue implementation, so the queue workloads
// (lib/queue-workloads.mjs) drive Plugboard, BullMQ and bee-queue through the same steps.
//
// `open()` resolves with `{ queue(name), close() }`; `queue(name)` gives
//   add(payloads)               store the messages (each library's fastest honest way to add
//                               individually acknowledged messages; resolves once all are stored)
//   addDelayed(payloads, ms)    the same, each due `ms` from now (one call per message)
//   prepare(handler, conc)      connect a consumer without consuming yet; resolves with
//                               { start(), stop() } (start() begins consuming at once)
//   left()                      messages still waiting, delayed or in flight in the backend
// Every Redis implementation gets its own key prefix / namespace for the run; close() deletes
// exactly those keys (never FLUSHDB: the server is shared).
import process from 'node:process';
import { URL } from 'node:url';
import { startPlugboard } from './plugboard.mjs';
import {
  deleteNamespaceKeys,
  deletePrefixKeys,
  REDIS_URL,
  uniqueNamespace,
  uniquePrefix,
  withTimeout,
} from './remote.mjs';

const redisAddress = () => {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379) };
};

async function bounded(promise, what, ms = 5000) {
  await withTimeout(promise, ms, what).catch((error) => process.stderr.write(`${error.message}\n`));
}

/**
 * Plugboard: one host with one plugin using `context.messageQueue` (`backend` 'redis': the
 * shared Redis under a fresh namespace; 'memory': the embedded backend). `receiveOptions`
 * (e.g. `{ prefetch }`) are passed to every `receive`.
 */
export async function openPlugboard(backend, receiveOptions = {}) {
  const namespace = uniqueNamespace();
  const pb = await startPlugboard(['jobs'], {
    nodeId: `${namespace}-node`,
    ...(backend === 'redis' ? { backend: { redis: REDIS_URL, namespace } } : {}),
    parity: false,
  });
  const close = async () => {
    await bounded(pb.close(), 'host stop');
    if (backend === 'redis') await bounded(deleteNamespaceKeys(namespace), 'key cleanup');
  };
  const mq = pb.ctx.jobs.messageQueue;
  if (!mq) {
    await close();
    throw new Error('this build has no context.messageQueue');
  }
  return {
    queue(name) {
      const queue = `bench.${name}`;
      return {
        // Concurrent sends: every send of the chunk is issued before any is awaited.
        add: (payloads) => Promise.all(payloads.map((data) => mq.send(queue, data))),
        addDelayed: (payloads, delay) =>
          Promise.all(payloads.map((data) => mq.send(queue, data, { delay }))),
        prepare: async (handler, concurrency) => {
          let consumer = null;
          return {
            start: () => {
              consumer = mq.receive(queue, (message) => handler(message.data), {
                ...receiveOptions,
                concurrency,
              });
            },
            stop: () => consumer?.stop(5000),
          };
        },
        left: async () => {
          const s = await mq.stats(queue);
          return s.waiting + s.delayed + s.inFlight;
        },
      };
    },
    close,
  };
}

/**
 * BullMQ: a Queue to add, a Worker to process, each with its own connection (BullMQ's usual
 * setup). Jobs are removed on completion (`removeOnComplete: true`), as an acknowledged
 * Plugboard message is; adding uses `addBulk` in chunks (one MULTI per chunk).
 */
export async function openBullMQ() {
  const { Queue, Worker } = await import('bullmq');
  const prefix = uniquePrefix('bull');
  const connection = { ...redisAddress(), maxRetriesPerRequest: null };
  const closers = [];
  return {
    queue(name) {
      const q = new Queue(name, {
        connection,
        prefix,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
      });
      closers.push(() => q.close());
      return {
        add: (payloads) => q.addBulk(payloads.map((data) => ({ name: 'job', data }))),
        addDelayed: (payloads, delay) =>
          Promise.all(payloads.map((data) => q.add('job', data, { delay }))),
        prepare: async (handler, concurrency) => {
          const worker = new Worker(name, async (job) => handler(job.data), {
            connection,
            prefix,
            concurrency,
            autorun: false,
          });
          worker.on('error', (error) => process.stderr.write(`bullmq worker: ${error}\n`));
          await worker.waitUntilReady();
          closers.unshift(() => worker.close());
          return {
            start: () => {
              worker.run().catch((error) => process.stderr.write(`bullmq run: ${error}\n`));
            },
            stop: () => worker.close(),
          };
        },
        left: async () => {
          const c = await q.getJobCounts('wait', 'active', 'delayed', 'prioritized');
          return Object.values(c).reduce((a, b) => a + b, 0);
        },
      };
    },
    close: async () => {
      for (const close of closers) await bounded(close(), 'bullmq close');
      await bounded(deletePrefixKeys(prefix), 'key cleanup');
    },
  };
}

/**
 * bee-queue: a producer Queue (`isWorker: false`) and a worker Queue, job events off on both
 * (`getEvents`/`sendEvents`: Plugboard's send does not report completion either), jobs removed
 * on success. Adding uses `saveAll` in chunks (one pipelined round trip per chunk). The worker
 * activates delayed jobs (`activateDelayedJobs: true`, default `delayedDebounce` 1000 ms).
 */
export async function openBeeQueue() {
  const { default: Bee } = await import('bee-queue');
  const prefix = uniquePrefix('bee');
  const base = { prefix, redis: redisAddress(), getEvents: false, sendEvents: false };
  const closers = [];
  return {
    queue(name) {
      const producer = new Bee(name, { ...base, isWorker: false, storeJobs: false });
      closers.push(() => producer.close(5000));
      return {
        add: async (payloads) => {
          const errors = await producer.saveAll(payloads.map((data) => producer.createJob(data)));
          if (errors.size) throw [...errors.values()][0];
        },
        addDelayed: (payloads, delay) =>
          Promise.all(
            payloads.map((data) =>
              producer
                .createJob(data)
                .delayUntil(Date.now() + delay)
                .save(),
            ),
          ),
        prepare: async (handler, concurrency) => {
          const worker = new Bee(name, {
            ...base,
            isWorker: true,
            removeOnSuccess: true,
            activateDelayedJobs: true,
          });
          worker.on('error', (error) => process.stderr.write(`bee-queue worker: ${error}\n`));
          await worker.ready();
          closers.unshift(() => worker.close(5000));
          return {
            start: () => worker.process(concurrency, async (job) => handler(job.data)),
            stop: () => worker.close(5000),
          };
        },
        left: async () => {
          const h = await producer.checkHealth();
          return h.waiting + h.active + h.delayed;
        },
      };
    },
    close: async () => {
      for (const close of closers) await bounded(close(), 'bee-queue close');
      await bounded(deletePrefixKeys(prefix), 'key cleanup');
    },
  };
}
