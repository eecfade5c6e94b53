import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../../src/backends/ports.js';
import { BackendUnavailableError } from '../../../src/errors/errors.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, startBackend, uniqueNamespace } from './support.js';
import { waitFor } from './support.js';

const LIMIT = 5;
const OPERATION_TIMEOUT = 600;

describe('Redis backend offline buffer', () => {
  let server: RedisServer;
  let a: Backend;

  before(async () => {
    server = await startRedisServer();
    a = await startBackend(
      {
        redis: server.url,
        namespace: uniqueNamespace('offline'),
        offlineQueueLimit: LIMIT,
        operationTimeout: OPERATION_TIMEOUT,
      },
      'offline-a',
    );
  });
  after(async () => {
    await a?.close();
    await server.stop();
  });

  it('fails fast with BackendUnavailableError past offlineQueueLimit, and drains after reconnect', async () => {
    await server.kill();
    await waitFor(() => a.status === 'reconnecting', 2000, 'the outage to be noticed');

    const started = Date.now();
    const buffered = Array.from({ length: LIMIT }, (_, i) =>
      a.registry.put('k.offline', `e${i}`, bytes('v')),
    );
    await assert.rejects(a.registry.put('k.offline', 'over', bytes('v')), (e: unknown) => {
      assert.ok(e instanceof BackendUnavailableError);
      assert.match(e.message, /offlineQueueLimit/);
      return true;
    });
    await assert.rejects(a.transport.publish('t.offline', bytes('x')), BackendUnavailableError);
    assert.ok(Date.now() - started < 100, 'past the limit, operations fail at once');

    // The buffered ones still settle by their deadline.
    const results = await Promise.allSettled(buffered);
    assert.ok(
      Date.now() - started <= OPERATION_TIMEOUT + 250,
      `settled after ${Date.now() - started} ms`,
    );
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof BackendUnavailableError);
    }

    await server.restart();
    await waitFor(() => a.status === 'ready', 5000, 'reconnect');
    await waitFor(
      () =>
        a.registry.put('k.offline', 'back', bytes('v')).then(
          () => true,
          () => false,
        ),
      3000,
      'puts to work again',
    );
    const ids = (await a.registry.list('k.offline')).map((r) => r.id).sort();
    // The buffered puts were sent on reconnect (their callers had been told they timed out).
    assert.deepEqual(ids, ['back', 'e0', 'e1', 'e2', 'e3', 'e4']);
  });
});
