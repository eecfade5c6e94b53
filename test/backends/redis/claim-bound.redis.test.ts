import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'ioredis';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { loadScripts } from '../../../src/backends/redis/scripts.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from './support.js';

const OPERATION_TIMEOUT = 300;
/** How long a held claim command stays in this process before it is written to Redis. */
const HOLD_MS = 3 * OPERATION_TIMEOUT;

/**
 * A claim that reaches Redis after its caller gave up (as when Redis is frozen and runs what
 * was written at the thaw) takes nothing: the command is held here past the caller's deadline,
 * then sent, and the message stays ready instead of being leased to nobody.
 */
describe('Redis claim: bounded on Redis clock by its caller deadline', () => {
  const namespace = uniqueNamespace('qbound');
  let backend: Backend;
  const claimSha = loadScripts().claimMessages.sha;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored in after()
  const original = Redis.prototype.sendCommand;
  /** Hold claims here before writing them ('write'), or hold their replies ('reply'). */
  let hold: false | 'write' | 'reply' = false;
  const held: Array<Promise<unknown>> = [];

  before(async () => {
    backend = await startBackend(
      { redis: SHARED_REDIS_URL, namespace, operationTimeout: OPERATION_TIMEOUT },
      'qbound-node',
    );
    Redis.prototype.sendCommand = function (this: Redis, command: Command, stream?: unknown) {
      const isClaim = /^eval(sha)?$/i.test(command.name) && String(command.args[0]) === claimSha;
      if (!hold || !isClaim) return original.call(this, command, stream as never);
      if (hold === 'reply') {
        const answered = original.call(this, command, stream as never) as Promise<unknown>;
        const late = new Promise((resolve) => setTimeout(resolve, HOLD_MS)).then(() => answered);
        held.push(late.catch(() => undefined));
        return late;
      }
      const sent = new Promise<unknown>((resolve) =>
        setTimeout(() => resolve(original.call(this, command, stream as never)), HOLD_MS),
      );
      held.push(sent.then(() => command.promise).catch(() => undefined));
      return command.promise;
    };
  });
  after(async () => {
    Redis.prototype.sendCommand = original;
    await backend?.close();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('a claim that runs after its caller timed out leases nothing', async (t) => {
    const q = 'q.late';
    // A first claim teaches the store the offset between its clock and Redis's.
    assert.deepEqual(
      await backend.queues.claim(q, 'c', { count: 1, leaseMs: 60_000, waitMs: 0 }),
      [],
    );
    await backend.queues.enqueue(q, bytes('m'));
    hold = 'write';
    const started = Date.now();
    await assert.rejects(
      backend.queues.claim(q, 'c', { count: 1, leaseMs: 60_000, waitMs: 0 }),
      (error: Error & { code?: string }) => error.code === 'PB_TIMEOUT',
    );
    figure(t, 'claim refused to its caller after', Date.now() - started, 'ms');
    assert.equal(held.length, 1, 'the claim was held');
    await Promise.all(held);
    hold = false;
    figure(t, 'held claim written to Redis after', Date.now() - started, 'ms');
    assert.deepEqual(await backend.queues.counts(q), { ready: 1, delayed: 0, leased: 0, dead: 0 });
    const got = await backend.queues.claim(q, 'c', { count: 1, leaseMs: 60_000, waitMs: 0 });
    assert.equal(got.length, 1);
    assert.equal(got[0]?.attempt, 1, 'never delivered to the caller that gave up');
  });

  it('a claim answered after its caller timed out gives what it leased back at once', async () => {
    const q = 'q.late-reply';
    await backend.queues.enqueue(q, bytes('m'));
    held.length = 0;
    hold = 'reply';
    await assert.rejects(
      backend.queues.claim(q, 'c', { count: 1, leaseMs: 60_000, waitMs: 0 }),
      (error: Error & { code?: string }) => error.code === 'PB_TIMEOUT',
    );
    assert.equal(held.length, 1, 'the reply was held');
    await Promise.all(held);
    hold = false;
    // Redis ran that claim: the message was leased (attempt 1), then given back by the store.
    await waitFor(
      async () => (await backend.queues.counts(q)).ready === 1,
      3000,
      'the message given back',
    );
    const got = await backend.queues.claim(q, 'c', { count: 1, leaseMs: 60_000, waitMs: 0 });
    assert.equal(got.length, 1);
    assert.equal(got[0]?.attempt, 2, 'the late claim counted as a delivery');
  });
});
