import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'ioredis';
import { Redis } from 'ioredis';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import { loadScripts } from '../../../src/backends/redis/scripts.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from './support.js';

const OPERATION_TIMEOUT = 300;
/** The smallest budget a backend accepts (one largest message of 1 MiB, plus framing). */
const BUDGET = 1_200_000;
const PAYLOAD = new Uint8Array(700_000);

/**
 * Enqueued payloads count against `maxPendingBytes` until Redis answers, not until their caller
 * gave up: an enqueue written to a Redis that does not answer (held here, as a frozen Redis
 * would) keeps its bytes counted, and the next one past the budget is refused unsent.
 */
describe('Redis queue enqueues: payloads within the byte budget', () => {
  const namespace = uniqueNamespace('qbudget');
  let backend: RedisBackend;
  const enqueueSha = loadScripts().enqueueMessages.sha;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored in after()
  const original = Redis.prototype.sendCommand;
  let hold = false;
  const held: Array<() => void> = [];

  before(async () => {
    backend = (await startBackend(
      {
        redis: SHARED_REDIS_URL,
        namespace,
        operationTimeout: OPERATION_TIMEOUT,
        maxPendingBytes: BUDGET,
      },
      'qbudget-node',
    )) as RedisBackend;
    Redis.prototype.sendCommand = function (this: Redis, command: Command, stream?: unknown) {
      const isEnqueue =
        /^eval(sha)?$/i.test(command.name) && String(command.args[0]) === enqueueSha;
      if (!hold || !isEnqueue) return original.call(this, command, stream as never);
      held.push(() => void original.call(this, command, stream as never));
      return command.promise;
    };
  });
  after(async () => {
    Redis.prototype.sendCommand = original;
    await backend?.close();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('keeps an unanswered payload counted past its timeout and refuses the next one unsent', async () => {
    const q = 'q.budget';
    hold = true;
    await assert.rejects(
      backend.queues.enqueue(q, PAYLOAD),
      (error: Error & { code?: string }) => error.code === 'PB_TIMEOUT',
    );
    assert.equal(held.length, 1, 'the enqueue was written (held unanswered)');
    await assert.rejects(
      backend.queues.enqueue(q, PAYLOAD),
      (error: Error & { code?: string; details?: Record<string, unknown> }) =>
        error.code === 'PB_BACKPRESSURE' && error.details?.['sent'] === false,
    );
    assert.equal(held.length, 1, 'the refused enqueue was never written');
    hold = false;
    held.shift()!(); // Redis answers at last: its payload is released
    await waitFor(
      () =>
        backend.queues.enqueue(q, PAYLOAD).then(
          () => true,
          () => false,
        ),
      2000,
      'an enqueue accepted once the held one was answered',
    );
    assert.equal((await backend.queues.counts(q)).ready, 2, 'the late one and the new one');
  });

  it('releases an unanswered payload whose connection drops before its caller gave up', async () => {
    const q = 'q.budget-drop';
    const raw = new Redis(SHARED_REDIS_URL);
    try {
      const clients = String(await raw.call('CLIENT', 'LIST'));
      const name = `plugboard:${namespace}:qbudget-node:commands`;
      const id = clients
        .split('\n')
        .find((line) => line.includes(`name=${name} `))
        ?.match(/^id=(\d+)/)?.[1];
      assert.ok(id !== undefined, 'the commands connection found');
      held.length = 0;
      hold = true;
      const lost = backend.queues.enqueue(q, PAYLOAD);
      // Listened for at once: the rejection may come while the kill below is still awaited.
      const refused = assert.rejects(lost, (error: Error & { code?: string }) =>
        ['PB_BACKEND_UNAVAILABLE', 'PB_TIMEOUT'].includes(error.code ?? ''),
      );
      await waitFor(() => held.length === 1, 1000, 'the enqueue written');
      // Cut while the caller still waits: the reply will never come.
      await raw.call('CLIENT', 'KILL', 'ID', id);
      await refused;
      hold = false;
      held.length = 0;
      await waitFor(
        () =>
          backend.queues.enqueue(q, PAYLOAD).then(
            () => true,
            () => false,
          ),
        3000,
        'an enqueue of the same size accepted after the reconnect',
      );
    } finally {
      hold = false;
      raw.disconnect();
    }
  });
});
