import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ByteBudget } from '../../src/backends/redis/byte-budget.js';
import type { RedisBackend } from '../../src/backends/redis/redis-backend.js';
import { BackendUnavailableError, TimeoutError } from '../../src/errors/errors.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startBackend, uniqueNamespace, waitFor } from '../backends/redis/support.js';

const OPERATION_TIMEOUT = 500;

/** The backend's byte budget (shared by the outbox and the stores; not public). */
const budgetOf = (backend: RedisBackend): ByteBudget =>
  (backend.cache as unknown as { deps: { budget: ByteBudget } }).deps.budget;

describe('Redis cache get/set while Redis is frozen or gone (deadline, byte budget)', () => {
  let server: RedisServer;
  let backend: RedisBackend;
  const held = (): number => budgetOf(backend).pendingBytes;
  before(async () => {
    server = await startRedisServer();
    backend = (await startBackend({
      redis: server.url,
      namespace: uniqueNamespace('cachefreeze'),
      operationTimeout: OPERATION_TIMEOUT,
    })) as RedisBackend;
  });
  after(async () => {
    server.resume();
    await backend?.close();
    await server.stop();
  });

  it('settles by the deadline, holds the bytes of a write until Redis answers, then works again', async () => {
    await backend.cache.set('k', new Uint8Array(10));
    server.pause();
    const started = Date.now();
    const write = backend.cache.set('k', new Uint8Array(1000), 60_000);
    const read = backend.cache.get('k');
    // Both listened for at once (either may time out first).
    await Promise.all([assert.rejects(write, TimeoutError), assert.rejects(read, TimeoutError)]);
    // Bounded by the deadline (generous slack: a loaded machine runs timers late).
    assert.ok(Date.now() - started < OPERATION_TIMEOUT + 2000, 'settled by the deadline');
    // The frozen Redis still holds the write in this process: its bytes count.
    assert.ok(held() >= 1000, `held ${held()}`);
    server.resume();
    await waitFor(() => held() === 0, 5000, 'the late answer releasing the bytes');
    assert.equal((await backend.cache.get('k'))?.value.byteLength, 1000);
  });

  it('a dropped connection fails a write in flight at once and releases its bytes', async () => {
    // Connected again after the first case's freeze (a round trip answered) before freezing.
    await backend.cache.get('warm');
    server.pause();
    const write = backend.cache.set('gone', new Uint8Array(500));
    // Failed by the drop, not by its deadline (that would be a TimeoutError).
    const refused = assert.rejects(write, BackendUnavailableError);
    await waitFor(() => held() >= 500, 1000, 'the write held');
    await server.kill();
    await refused;
    assert.equal(held(), 0);
  });
});
