/**
 * The cluster check shared by the memory and Redis tests of `RepeatScheduler`: two hosts run
 * one schedule over their own backends of one cluster; every due time must be delivered once.
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import type { EnqueueOptions, QueueStore } from '../../src/backends/ports.js';
import { RepeatScheduler } from '../../src/queue/repeat-schedule.js';

export const quiet = pino({ level: 'silent' });

export interface EnqueueCall {
  readonly host: number;
  readonly id: string;
  readonly options: EnqueueOptions;
}

/** `store` with its `enqueue` calls recorded (options and the id each resolved with). */
export function recording(store: QueueStore, host: number, calls: EnqueueCall[]): QueueStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'enqueue') return Reflect.get(target, key, receiver) as unknown;
      return async (queue: string, payload: Uint8Array, options: EnqueueOptions = {}) => {
        const id = await target.enqueue(queue, payload, options);
        calls.push({ host, id, options });
        return id;
      };
    },
  });
}

/**
 * Run `{ every }` on two schedulers (one per store) until `want` occurrences were claimed by
 * claimers on both stores; assert each due time came once, not before it was due, and that
 * both hosts enqueued it.
 */
export async function twoHostsFireEachDueOnce(
  stores: readonly [QueueStore, QueueStore],
  queue: string,
  every: number,
  want = 4,
): Promise<void> {
  const calls: EnqueueCall[] = [];
  const schedulers = stores.map(
    (store, host) => new RepeatScheduler({ store: recording(store, host, calls), logger: quiet }),
  );
  const payload = new Uint8Array([1, 2, 3]);
  const handles = schedulers.map((s) => s.start(queue, payload, { every }, { name: 'tick' }));
  const delivered: Array<{ id: string; at: number }> = [];
  const claimer = async (store: QueueStore, consumer: string): Promise<void> => {
    // Bounded: at most 40 waits of at most every ms each.
    for (let i = 0; i < 40 && delivered.length < want; i++) {
      const messages = await store.claim(queue, consumer, {
        count: 10,
        leaseMs: 10_000,
        waitMs: every,
      });
      for (const message of messages) {
        delivered.push({ id: message.id, at: Date.now() });
        assert.deepEqual([...message.payload], [1, 2, 3]);
        await store.ack(queue, message.id, message.lease);
      }
    }
  };
  try {
    await Promise.all([claimer(stores[0], 'c0'), claimer(stores[1], 'c1')]);
  } finally {
    await Promise.all(handles.map((h) => h.cancel()));
    for (const s of schedulers) s.close();
  }
  assert.ok(delivered.length >= want, `only ${delivered.length} occurrences came`);
  const dueOf = new Map(calls.map((c) => [c.id, c.options.notBefore!]));
  const dues = delivered.map((d) => dueOf.get(d.id));
  assert.equal(new Set(delivered.map((d) => d.id)).size, delivered.length, 'an id came twice');
  // On a loaded machine one host can miss an occurrence (its timer or its enqueue came after
  // the next due time, so it skipped it); most occurrences must still have been enqueued by both,
  // or the idempotency key was never put to the test.
  let bothEnqueued = 0;
  for (const [i, d] of delivered.entries()) {
    const due = dues[i]!;
    assert.ok(due !== undefined, 'a delivered message no scheduler enqueued');
    assert.equal(due % every, 0, 'due times are multiples of `every` since the epoch');
    // The backend clock decides; on one machine it is ours (give Redis TIME a millisecond).
    assert.ok(d.at >= due - 2, `delivered ${due - d.at} ms before it was due`);
    // Every host that enqueued this occurrence got the same id back (the idempotency key).
    const mine = calls.filter((c) => c.options.notBefore === due);
    if (new Set(mine.map((c) => c.host)).size === 2) bothEnqueued++;
    assert.deepEqual(new Set(mine.map((c) => c.id)), new Set([d.id]));
    assert.equal(mine[0]!.options.dedupKey, `repeat:tick:${due}`);
  }
  assert.ok(
    bothEnqueued >= delivered.length - 1,
    `only ${bothEnqueued} of ${delivered.length} occurrences were enqueued by both hosts`,
  );
  const sorted = [...dues].sort((a, b) => a! - b!);
  assert.deepEqual(dues, sorted, 'occurrences came in due order');
  for (let i = 1; i < sorted.length; i++) assert.equal(sorted[i]! - sorted[i - 1]!, every);
}
