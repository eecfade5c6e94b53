import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { wasNotSent, type CommandRunner } from '../../../src/backends/redis/connection.js';
import { BackendUnavailableError } from '../../../src/errors/errors.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, figure, startBackend, text, uniqueNamespace, waitFor } from './support.js';

const LIMIT = 5;
// Long enough that a busy machine refuses the operations past the limit before it ends.
const OPERATION_TIMEOUT = 2000;

describe('Redis backend offline buffer', () => {
  let server: RedisServer;
  let a: Backend;
  let namespace: string;

  before(async () => {
    server = await startRedisServer();
    namespace = uniqueNamespace('offline');
    a = await startBackend(
      {
        redis: server.url,
        namespace,
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
  afterEach(async () => {
    // Every test leaves Redis up and the node connected.
    if (a.status !== 'ready') await server.restart().catch(() => undefined);
    await waitFor(() => a.status === 'ready', 5000, 'reconnect');
  });

  it('fails fast past offlineQueueLimit; what waited past its deadline is never sent', async (t) => {
    await server.kill();
    const killedAt = Date.now();
    await waitFor(() => a.status === 'reconnecting', 2000, 'the outage to be noticed');
    figure(t, 'Redis killed: outage noticed after', Date.now() - killedAt, 'ms');

    const started = Date.now();
    const buffered = Array.from({ length: LIMIT }, (_, i) =>
      a.registry.put('k.offline', `e${i}`, bytes('v')),
    );
    // Listened for at once: on a busy machine the node's own heartbeat may take a slot first,
    // so one of these can be refused at once rather than at its deadline.
    const settled = Promise.allSettled(buffered);
    let settledCount = 0;
    for (const op of buffered) op.then(settle, settle);
    function settle(): void {
      settledCount++;
    }
    await assert.rejects(a.registry.put('k.offline', 'over', bytes('v')), (e: unknown) => {
      assert.ok(e instanceof BackendUnavailableError);
      assert.match(e.message, /offlineQueueLimit/);
      return true;
    });
    await assert.rejects(a.transport.publish('t.offline', bytes('x')), BackendUnavailableError);
    const refusedAfter = Date.now() - started;
    // Proven by order, not by speed: the refusals came while buffered operations still waited
    // for their deadline (a heartbeat may have taken one slot, so one may be refused at once).
    assert.ok(settledCount < LIMIT, 'past the limit, operations fail before the buffered ones');
    figure(t, 'past offlineQueueLimit: 2 operations refused after', refusedAfter, 'ms');

    // The buffered ones settle by their deadline, and say that nothing was sent.
    const results = await settled;
    const settledAfter = Date.now() - started;
    assert.ok(settledAfter <= OPERATION_TIMEOUT + 1500, `settled after ${settledAfter} ms`);
    figure(
      t,
      `buffered puts (${LIMIT}) settled after`,
      settledAfter,
      `ms (operationTimeout ${OPERATION_TIMEOUT})`,
    );
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof BackendUnavailableError);
      assert.ok(wasNotSent(result.reason), 'dropped before it was sent');
    }
    figure(
      t,
      'buffered puts dropped unsent',
      results.filter((r) => r.status === 'rejected').length,
      `of ${LIMIT}`,
    );

    await server.restart();
    const restartedAt = Date.now();
    await waitFor(() => a.status === 'ready', 5000, 'reconnect');
    figure(t, 'Redis restarted: ready again after', Date.now() - restartedAt, 'ms');
    await waitFor(
      () =>
        a.registry.put('k.offline', 'back', bytes('v')).then(
          () => true,
          () => false,
        ),
      3000,
      'puts to work again',
    );
    // The node rejoined the empty Redis with its own entries: the dropped puts were forgotten
    // (never sent, so not resurrected), and ioredis did not send them after the reconnect.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ids = (await a.registry.list('k.offline')).map((r) => r.id).sort();
    assert.deepEqual(ids, ['back']);
    figure(t, 'dropped puts found in Redis after the restart', ids.length - 1);
  });

  it('never runs a queue operation after its caller gave up, but runs it if Redis returns in time', async (t) => {
    const q = 'q.offline';
    await server.kill();
    await waitFor(() => a.status === 'reconnecting', 2000, 'the outage to be noticed');
    const late = a.queues.enqueue(q, bytes('late'));
    const claim = a.queues.claim(q, 'c', { count: 5, leaseMs: 60_000, waitMs: 0 });
    for (const op of [late, claim]) {
      await assert.rejects(
        op,
        (e: unknown) => e instanceof BackendUnavailableError && wasNotSent(e),
      );
    }
    await server.restart();
    await waitFor(() => a.status === 'ready', 5000, 'reconnect');
    // Queued while disconnected, and Redis is back before the deadline: it runs, and the caller
    // gets the outcome.
    const waiting = await startBackend(
      { redis: server.url, namespace, operationTimeout: 8000 },
      'offline-waiting',
    );
    try {
      await server.kill();
      await waitFor(() => waiting.status === 'reconnecting', 2000, 'the outage to be noticed');
      const startedInTime = Date.now();
      const inTime = waiting.queues.enqueue(q, bytes('in-time'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await server.restart();
      const id = await inTime;
      assert.ok(id.length > 0);
      figure(
        t,
        'enqueue buffered during a 200 ms outage: completed after',
        Date.now() - startedInTime,
        'ms (operationTimeout 8000)',
      );
      await waitFor(() => a.status === 'ready', 5000, 'reconnect');
      // Only the enqueue whose caller still waited reached Redis; the dropped claim leased
      // nothing to nobody.
      assert.deepEqual(await a.queues.counts(q), { ready: 1, delayed: 0, leased: 0, dead: 0 });
      const counts = await a.queues.counts(q);
      const [m] = await a.queues.claim(q, 'c', { count: 5, leaseMs: 60_000, waitMs: 0 });
      assert.equal(text(m!.payload), 'in-time');
      figure(
        t,
        'queue operations given up on that reached Redis',
        counts.ready + counts.leased - 1,
        'of 2',
      );
    } finally {
      await waiting.close();
    }
  });

  it('runs auto-pipelined commands again after a drop that cut one off (no stuck ioredis pipeline)', async (t) => {
    const runner = (a as unknown as { runner: CommandRunner }).runner;
    const probe = new Redis(server.url);
    probe.on('error', () => undefined); // expected while the connection is killed
    try {
      // An auto-pipelined command that is still unanswered when the connection drops.
      const blocked = runner.run(
        'block',
        (client) => client.blpop('pb-offline-never', 5),
        Date.now() + 5000,
      );
      blocked.catch(() => undefined);
      await waitFor(
        async () => String(await probe.client('LIST')).includes('cmd=blpop'),
        2000,
        'the BLPOP to be in flight',
      );
      await probe.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      const cutAt = Date.now();
      await assert.rejects(blocked, BackendUnavailableError);
      figure(t, 'connection cut: in-flight BLPOP failed after', Date.now() - cutAt, 'ms');
      await waitFor(() => a.status === 'ready', 5000, 'reconnect');
      figure(t, 'connection cut: ready again after', Date.now() - cutAt, 'ms');
      // The next auto-pipelined commands are answered, not held behind the lost pipeline.
      assert.deepEqual(
        await runner.run('read back', (client) => client.smembers('pb-offline-none')),
        [],
      );
      assert.equal(await runner.run('ping', (client) => client.ping()), 'PONG');
    } finally {
      probe.disconnect();
    }
  });

  it('fails a command at once when the connection drops before the reply, and never resends it', async (t) => {
    const q = 'q.dropped';
    const probe = new Redis(server.url);
    probe.on('error', () => undefined); // expected while the server restarts
    try {
      await a.queues.enqueue('q.warm-up', bytes('loads the script: EVALSHA runs at once'));
      // Hold every write of every client, so the enqueue below is written but not run.
      await probe.call('CLIENT', 'PAUSE', '3000', 'WRITE');
      const started = Date.now();
      const pending = a.queues.enqueue(q, bytes('ambiguous'));
      pending.catch(() => undefined); // it fails while the KILL below is answered
      await new Promise((resolve) => setTimeout(resolve, 100));
      await probe.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await assert.rejects(pending, (e: unknown) => {
        assert.ok(e instanceof BackendUnavailableError);
        assert.ok(!wasNotSent(e), 'it was sent: the outcome is unknown');
        return true;
      });
      const failedAfter = Date.now() - started;
      assert.ok(failedAfter < OPERATION_TIMEOUT, 'told at once, not at the deadline');
      figure(
        t,
        'sent, unanswered enqueue failed after',
        failedAfter,
        'ms (connection cut 100 ms after sending)',
      );
      await probe.call('CLIENT', 'UNPAUSE');
      await waitFor(() => a.status === 'ready', 5000, 'reconnect');
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The killed connection's command was discarded by Redis and not resent by ioredis.
      const left = await a.queues.counts(q);
      assert.deepEqual(left, { ready: 0, delayed: 0, leased: 0, dead: 0 });
      figure(t, 'cut-off enqueue resent', left.ready, 'times');
    } finally {
      await probe.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      probe.disconnect();
    }
  });
});
