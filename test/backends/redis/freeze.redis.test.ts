import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../../src/backends/ports.js';
import type { RedisTransport } from '../../../src/backends/redis/redis-transport.js';
import { BackendUnavailableError, TimeoutError } from '../../../src/errors/errors.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, figure, startBackend, text, uniqueNamespace, waitFor } from './support.js';

const OPERATION_TIMEOUT = 800;
const SLACK = 250;

/** Run `operation`, expect a typed failure, and return how long it took to settle. */
async function settlesWithin(operation: Promise<unknown>, started: number): Promise<number> {
  await assert.rejects(
    operation,
    (e: unknown) => e instanceof TimeoutError || e instanceof BackendUnavailableError,
  );
  return Date.now() - started;
}

describe('Redis backend while Redis is frozen (SIGSTOP)', () => {
  let server: RedisServer;
  let a: Backend;
  let b: Backend;

  before(async () => {
    server = await startRedisServer();
    const option = {
      redis: server.url,
      namespace: uniqueNamespace('freeze'),
      livenessTtl: 10_000,
      operationTimeout: OPERATION_TIMEOUT,
    };
    a = await startBackend(option, 'freeze-a');
    b = await startBackend(option, 'freeze-b');
    await b.transport.respond('t.rpc', (p) => bytes(`re:${text(p)}`));
  });
  after(async () => {
    server.resume();
    await Promise.allSettled([a?.close(), b?.close()]);
    await server.stop();
  });

  it('settles every pending operation by its deadline with a typed error, then resumes after SIGCONT', async (t) => {
    assert.equal(
      text(await a.transport.request('freeze-b', 't.rpc', bytes('before'), Date.now() + 1000)),
      're:before',
    );
    server.pause();
    const frozenAt = Date.now();
    const started = Date.now();
    const took = await Promise.all([
      settlesWithin(a.transport.request('freeze-b', 't.rpc', bytes('x'), started + 500), started),
      settlesWithin(a.registry.put('k.freeze', 'e', bytes('v')), started),
      settlesWithin(a.registry.list('k.freeze'), started),
      settlesWithin(a.registry.liveNodes(), started),
      settlesWithin(a.transport.publish('t.any', bytes('x')), started),
      settlesWithin(
        a.transport.subscribe('t.new', () => undefined),
        started,
      ),
    ]);
    assert.ok(took[0] >= 450 && took[0] <= 500 + SLACK, `request settled after ${took[0]} ms`);
    for (const ms of took.slice(1))
      assert.ok(ms <= OPERATION_TIMEOUT + SLACK, `operation settled after ${ms} ms`);
    assert.equal((a.transport as RedisTransport).pendingRequests, 0);
    const names = ['request (deadline 500 ms)', 'registry.put', 'registry.list'];
    names.push('liveNodes', 'publish', 'subscribe'); // in the order of `took`
    names.forEach((name, i) =>
      figure(
        t,
        `frozen: ${name} settled after`,
        took[i]!,
        `ms (operationTimeout ${OPERATION_TIMEOUT})`,
      ),
    );
    figure(t, 'frozen: operations left pending', (a.transport as RedisTransport).pendingRequests);

    // Stay frozen for about 3 s in all (the fault itself, not a wait for an event).
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, 3000 - (Date.now() - frozenAt))),
    );
    server.resume();
    const resumedAt = Date.now();
    figure(t, 'frozen for', resumedAt - frozenAt, 'ms');

    await waitFor(
      async () => {
        try {
          return (
            text(
              await a.transport.request('freeze-b', 't.rpc', bytes('after'), Date.now() + 500),
            ) === 're:after'
          );
        } catch {
          return false;
        }
      },
      5000,
      'traffic to resume',
    );
    figure(t, 'first answered request after SIGCONT', Date.now() - resumedAt, 'ms');
    await a.registry.put('k.freeze', 'e2', bytes('v'));
    assert.ok((await b.registry.list('k.freeze')).some((r) => r.id === 'e2'));
    assert.equal(a.status, 'ready');
  });
});
