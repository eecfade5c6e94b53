import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BulkheadRejectedError, ValidationError } from '../../src/errors/errors.js';
import { Bulkhead } from '../../src/resilience/bulkhead.js';
import { deferred, errorOf } from './support.js';

describe('bulkhead', () => {
  it('runs maxConcurrent at once, queues up to maxQueue in order, rejects the rest at once', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 2 });
    const gates = Array.from({ length: 4 }, () => deferred());
    const started: number[] = [];
    const calls = gates.map((gate, i) => bulkhead.execute(() => (started.push(i), gate.promise)));
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual([bulkhead.running, bulkhead.queued], [2, 2]);
    const rejected = await errorOf(bulkhead.execute(() => 'never'));
    assert.ok(rejected instanceof BulkheadRejectedError);
    assert.equal(rejected.code, 'PB_BULKHEAD_FULL');
    assert.deepEqual(rejected.details, { maxConcurrent: 2, maxQueue: 2 });
    gates[1]!.resolve('b');
    assert.equal(await calls[1], 'b');
    assert.deepEqual(started, [0, 1, 2]);
    gates[0]!.reject(new Error('a failed'));
    await errorOf(calls[0]!);
    assert.deepEqual(started, [0, 1, 2, 3]);
    gates[2]!.resolve('c');
    gates[3]!.resolve('d');
    assert.deepEqual(await Promise.all([calls[2], calls[3]]), ['c', 'd']);
    assert.deepEqual([bulkhead.running, bulkhead.queued], [0, 0]);
  });

  it('maxQueue 0 (the default): no waiting at all', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const gate = deferred();
    const first = bulkhead.execute(() => gate.promise);
    assert.ok((await errorOf(bulkhead.execute(() => 1))) instanceof BulkheadRejectedError);
    gate.resolve('x');
    await first;
    assert.equal(await bulkhead.execute(() => 1), 1);
  });

  it('a waiting call whose signal aborts leaves the line (its place is not lost to others)', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const first = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    const reason = new Error('plugin stopping');
    const waiting = bulkhead.run(() => 'never', { signal: controller.signal, attempt: 1 });
    controller.abort(reason);
    assert.equal(await errorOf(waiting), reason);
    assert.equal(bulkhead.queued, 0);
    const next = bulkhead.execute(() => 'next');
    gate.resolve('first');
    assert.deepEqual(await Promise.all([first, next]), ['first', 'next']);
  });

  it('a call whose signal aborted before it could queue leaves the count and the bound intact', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred();
    const first = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    const reason = new Error('already stopped');
    controller.abort(reason);
    const call = bulkhead.run(() => 'never', { signal: controller.signal, attempt: 1 });
    assert.equal(await errorOf(call), reason);
    assert.equal(bulkhead.queued, 0);
    const queued = bulkhead.execute(() => 'queued');
    assert.ok((await errorOf(bulkhead.execute(() => 'over'))) instanceof BulkheadRejectedError);
    gate.resolve('first');
    assert.deepEqual(await Promise.all([first, queued]), ['first', 'queued']);
  });

  it('a sync throw frees the slot', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    await errorOf(
      bulkhead.execute(() => {
        throw new Error('sync');
      }),
    );
    assert.equal(bulkhead.running, 0);
  });

  it('validates its options', () => {
    assert.throws(() => new Bulkhead({ maxConcurrent: 0 }), ValidationError);
    assert.throws(() => new Bulkhead({} as { maxConcurrent: number }), ValidationError);
    assert.throws(() => new Bulkhead({ maxConcurrent: 1, maxQueue: -1 }), ValidationError);
  });
});
