import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import {
  MemoryQueueState,
  MemoryQueueStore,
} from '../../src/backends/memory/memory-queue-store.js';
import type { QueueStore } from '../../src/backends/ports.js';
import { BackendUnavailableError, ValidationError } from '../../src/errors/errors.js';
import { AckBatch } from '../../src/queue/ack-batch.js';
import { SendBatch } from '../../src/queue/send-batch.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A memory store that counts its calls by method. */
function countingStore(): { store: QueueStore; calls: Map<string, number> } {
  const inner = new MemoryQueueStore(new MemoryQueueState());
  const calls = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe('SendBatch', () => {
  it('sends issued in the same tick to one queue go as one enqueueMany, in order', async () => {
    const { store, calls } = countingStore();
    const batch = new SendBatch(store);
    const ids = await Promise.all(
      ['a', 'b', 'c'].map((p) => batch.send('q', bytes(p), { maxAttempts: 5 })),
    );
    const other = await batch.send('q', bytes('d'), {});
    assert.deepEqual(Object.fromEntries(calls), { enqueueMany: 1, enqueue: 1 });
    assert.equal(new Set([...ids, other]).size, 4);
    const got = await store.claim('q', 'c', { count: 10, leaseMs: 1000, waitMs: 0 });
    assert.deepEqual(
      got.map((m) => m.id),
      [...ids, other],
    );
  });

  it('a bad send fails alone, before batching; a store failure fails its whole batch', async () => {
    const { store } = countingStore();
    const batch = new SendBatch(store);
    const good = batch.send('q', bytes('ok'), {});
    assert.throws(() => batch.send('q', bytes('bad'), { priority: Number.NaN }), ValidationError);
    assert.equal(typeof (await good), 'string');
    (store as MemoryQueueStore).close();
    const failing = [batch.send('q', bytes('x'), {}), batch.send('q', bytes('y'), {})];
    for (const send of failing) await assert.rejects(send, BackendUnavailableError);
  });
});

describe('AckBatch', () => {
  it('acks made in the same tick go as one ackMany; refused ones are logged, not thrown', async () => {
    const { store, calls } = countingStore();
    await store.enqueueMany(
      'q',
      ['a', 'b', 'c'].map((p) => ({ payload: bytes(p) })),
    );
    const got = await store.claim('q', 'c', { count: 10, leaseMs: 1000, waitMs: 0 });
    const sent: Array<Promise<void>> = [];
    const warnings: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const acks = new AckBatch(store, 'q', logger, (call) => sent.push(call));
    for (const m of got) acks.add(m.id, m.lease);
    acks.add(got[0]!.id, got[0]!.lease);
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(sent);
    assert.equal(calls.get('ackMany'), 1);
    assert.equal(warnings.length, 1);
    assert.deepEqual(await store.counts('q'), { ready: 0, delayed: 0, leased: 0, dead: 0 });
  });
});
