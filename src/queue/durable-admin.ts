import { clusterBarrier } from '../backends/cluster-barrier.js';
import type { Backend } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { assertName, assertPattern } from '../util/names.js';
import { durableQueueName, parseDurableQueueName } from './queue-names.js';
import type { DurableAdmin, DurableDeadLetter, DurableQueueInfo } from './types.js';

const DEFAULT_DEAD_LETTER_LIMIT = 100;

/** How long `remove` waits for every live node to confirm it dropped the binding. */
const BARRIER_TIMEOUT_MS = 10_000;

/** {@link DurableAdmin} over a backend's queue store: durable event queues are found by their names. */
export function createDurableAdmin(backend: Backend, codec: Codec): DurableAdmin {
  const store = backend.queues;
  /** The group's queues: the one of `pattern`, or every one found in the store. */
  const queuesOf = async (
    group: string,
    pattern: string | undefined,
  ): Promise<Array<{ queue: string; pattern: string }>> => {
    assertName(group, 'Group name');
    if (pattern !== undefined) {
      assertPattern(pattern, 'Event pattern');
      return [{ queue: durableQueueName(group, pattern), pattern }];
    }
    const out: Array<{ queue: string; pattern: string }> = [];
    for (const queue of await store.queueNames()) {
      const parsed = parseDurableQueueName(queue);
      if (parsed?.group === group) out.push({ queue, pattern: parsed.pattern });
    }
    return out;
  };

  const decode = (payload: Uint8Array): { event: string | undefined; data: unknown } => {
    try {
      const frame = codec.decode(payload) as { e?: unknown; d?: unknown };
      const event = typeof frame.e === 'string' ? frame.e : undefined;
      const data = frame.d instanceof Uint8Array ? codec.decode(frame.d) : undefined;
      return { event, data };
    } catch {
      return { event: undefined, data: undefined };
    }
  };

  return {
    async list(): Promise<DurableQueueInfo[]> {
      const bound = new Set((await store.bindings()).map((b) => b.queue));
      const out: DurableQueueInfo[] = [];
      for (const queue of await store.queueNames()) {
        const parsed = parseDurableQueueName(queue);
        if (parsed === undefined) continue;
        out.push({ ...parsed, bound: bound.has(queue), counts: await store.counts(queue) });
      }
      return out.sort(
        (a, b) => a.group.localeCompare(b.group) || a.pattern.localeCompare(b.pattern),
      );
    },

    async deadLetters(group, pattern, limit = DEFAULT_DEAD_LETTER_LIMIT) {
      const out: DurableDeadLetter[] = [];
      for (const q of await queuesOf(group, pattern)) {
        for (const dead of await store.deadLetters(q.queue, limit)) {
          out.push({
            id: dead.id,
            group,
            pattern: q.pattern,
            ...decode(dead.payload),
            reason: dead.reason,
            attempt: dead.attempt,
            enqueuedAt: dead.enqueuedAt,
            deadAt: dead.deadAt,
          });
        }
      }
      return out;
    },

    async removeDeadLetter(group, pattern, id) {
      const [q] = await queuesOf(group, pattern);
      return store.removeDeadLetter(q!.queue, String(id));
    },

    async retryDeadLetter(group, pattern, id) {
      const [q] = await queuesOf(group, pattern);
      return store.retryDeadLetter(q!.queue, String(id));
    },

    async purge(group, pattern) {
      let purged = 0;
      for (const q of await queuesOf(group, pattern))
        purged += await store.purgeDeadLetters(q.queue);
      return purged;
    },

    async remove(group, pattern) {
      const [q] = await queuesOf(group, pattern);
      await store.deleteQueue(q!.queue);
      // Resolve once every live node stopped storing events for it.
      await clusterBarrier(backend, Date.now() + BARRIER_TIMEOUT_MS);
    },
  };
}

/**
 * A {@link DurableAdmin} that forwards to the one `current()` returns, and rejects with
 * `unavailable()` while there is none (a host not started yet, or stopped).
 */
export function forwardDurableAdmin(
  current: () => DurableAdmin | undefined,
  unavailable: () => Error,
): DurableAdmin {
  const admin = (): Promise<DurableAdmin> => {
    const target = current();
    return target === undefined ? Promise.reject(unavailable()) : Promise.resolve(target);
  };
  return {
    list: async () => (await admin()).list(),
    deadLetters: async (group, pattern, limit) =>
      (await admin()).deadLetters(group, pattern, limit),
    removeDeadLetter: async (group, pattern, id) =>
      (await admin()).removeDeadLetter(group, pattern, id),
    retryDeadLetter: async (group, pattern, id) =>
      (await admin()).retryDeadLetter(group, pattern, id),
    purge: async (group, pattern) => (await admin()).purge(group, pattern),
    remove: async (group, pattern) => (await admin()).remove(group, pattern),
  };
}
