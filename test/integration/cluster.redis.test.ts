/**
 * Several host processes on one Redis: events broadcast and grouped, RPC across processes, a
 * provider killed with SIGKILL, Redis restarted, Redis frozen with SIGSTOP. Each test runs on a
 * throwaway redis-server, so restarting or freezing it touches nobody else.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { until } from '../conformance/harness.js';
import { figure } from '../backends/redis/support.js';
import { ClusterProcess } from './cluster-process.js';

describe('cluster of host processes on Redis', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let nodes: ClusterProcess[] = [];
  let namespace: string;

  before(async () => (redis = await startRedisServer()));
  after(() => redis.stop());
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    nodes = [];
  });

  const startNodes = async (count: number): Promise<ClusterProcess[]> => {
    namespace = `it${Math.random().toString(36).slice(2, 8)}`;
    nodes = await Promise.all(
      Array.from({ length: count }, (_, i) => ClusterProcess.start(redis.url, namespace, `n${i}`)),
    );
    return nodes;
  };

  it('broadcasts events to every process and shares grouped events exactly once', async (t) => {
    const [a, b, c] = await startNodes(3);
    for (const node of [a!, b!, c!]) {
      await node.run({ cmd: 'subscribe', pattern: 'order.*', tag: 'all' });
      await node.run({ cmd: 'subscribe', pattern: 'order.*', group: 'workers', tag: 'grp' });
    }
    // Each subscribe returned after its `ready`: every process routes to every member already.
    const real = (node: ClusterProcess, tag: string) =>
      node.tagged(tag).filter((r) => r.event === 'order.created');
    for (let n = 0; n < 30; n++)
      await nodes[n % 3]!.run({
        cmd: 'publish',
        event: 'order.created',
        data: { n, at: new Date(0) },
      });
    const total = (tag: string) => nodes.reduce((sum, node) => sum + real(node, tag).length, 0);
    await until(() => total('all') === 90 && total('grp') === 30, 10_000, 'deliveries');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(total('all'), 90, 'every process got every event');
    figure(t, 'broadcast deliveries', total('all'), 'of 90 (30 events × 3 processes)');
    figure(t, 'grouped deliveries', total('grp'), 'of 30');
    figure(
      t,
      'grouped events per process',
      nodes.map((node) => real(node, 'grp').length).join(' / '),
    );
    const grouped = nodes.flatMap((node) =>
      real(node, 'grp').map((r) => (r.data as { n: number }).n),
    );
    assert.deepEqual(
      grouped.sort((x, y) => x - y),
      Array.from({ length: 30 }, (_, i) => i),
      'each grouped event exactly once',
    );
    assert.ok(
      nodes.every((node) => real(node, 'grp').length > 0),
      'grouped events spread over the processes',
    );
    assert.ok(
      (real(a!, 'all')[0]!.data as { at: Date }).at instanceof Date,
      'types survive the trip',
    );
  });

  it('loses no group event when a member process is killed with SIGKILL', async (t) => {
    const [publisher, doomed, survivor] = await startNodes(3);
    for (const node of [doomed!, survivor!])
      await node.run({ cmd: 'subscribe', pattern: 'job.*', group: 'crunch', tag: 'job' });
    await doomed!.kill();
    const killedAt = Date.now();
    // Redis drops the dead socket's subscriptions a moment later; from then on every send to it
    // is refused and its turns go to the survivor (events in flight to it before are lost).
    const admin = new Redis(redis.url);
    try {
      await until(
        async () =>
          Number(((await admin.pubsub('NUMSUB', `{${namespace}}:n:n1`)) as [string, number])[1]) ===
          0,
        5000,
        'the killed node gone from Redis',
      );
    } finally {
      admin.disconnect();
    }
    figure(
      t,
      'SIGKILLed member: its subscriptions gone from Redis after',
      Date.now() - killedAt,
      'ms',
    );
    const events = Array.from({ length: 10 }, (_, i) => `job.kind${i}`);
    const publishedAt = Date.now();
    await publisher!.run({ cmd: 'publishMany', events, count: 1000 }, 60_000);
    figure(t, '1000 group events published in', Date.now() - publishedAt, 'ms');
    await until(() => survivor!.tagged('job').length >= 1000, 20_000, '1000 group events').catch(
      (e: Error) => {
        throw new Error(`${e.message}: survivor got ${survivor!.tagged('job').length}`);
      },
    );
    const got = survivor!.tagged('job').map((r) => (r.data as { n: number }).n);
    figure(t, 'group events delivered to the survivor', new Set(got).size, 'of 1000');
    figure(t, 'group events lost', 1000 - new Set(got).size);
    figure(t, 'group events delivered twice', got.length - new Set(got).size);
    assert.equal(new Set(got).size, 1000, 'every event once');
  });

  it('calls RPC across processes, keeps errors typed, and fails over when a provider is killed', async (t) => {
    const [client, p1, p2] = await startNodes(3);
    await p1!.run({ cmd: 'register', service: 'pay', idempotent: ['whoami'] });
    await p2!.run({ cmd: 'register', service: 'pay', idempotent: ['whoami'] });
    await until(
      async () => {
        const seen = new Set(
          await Promise.all(
            [0, 1, 2, 3].map(() =>
              client!.run({ cmd: 'call', service: 'pay', method: 'whoami', params: [] }),
            ),
          ),
        );
        return seen.size === 2;
      },
      5000,
      'both providers answering',
    );
    await assert.rejects(client!.run({ cmd: 'call', service: 'pay', method: 'fail', params: [] }), {
      name: 'RangeError',
      code: 'E_DECLINED',
    });
    await assert.rejects(client!.run({ cmd: 'call', service: 'pay', method: 'nope', params: [] }), {
      code: 'PB_METHOD_NOT_FOUND',
    });

    // A call in flight to p1 when it is killed ends typed by its deadline; later calls reach p2.
    const inFlight = client!
      .run({ cmd: 'call', service: 'pay', method: 'slow', params: [5000], timeout: 2000 })
      .then(
        (v) => ({ ok: true as const, v }),
        (e: { code?: string }) => ({ ok: false as const, code: e.code }),
      );
    await until(
      () => p1!.tagged('slow-started').length + p2!.tagged('slow-started').length > 0,
      5000,
      'the call to arrive',
    );
    const started = Date.now();
    await p1!.kill();
    const outcome = await inFlight;
    const settledAfter = Date.now() - started;
    assert.ok(settledAfter < 4000, 'settled by its deadline');
    figure(
      t,
      'call in flight to the SIGKILLed provider settled after',
      settledAfter,
      `ms (call timeout 2000): ${outcome.ok ? `served by ${String(outcome.v)}` : outcome.code}`,
    );
    if (!outcome.ok)
      assert.ok(
        ['PB_TIMEOUT', 'PB_SERVICE_UNAVAILABLE'].includes(outcome.code!),
        `typed: ${outcome.code}`,
      );
    else assert.equal(outcome.v, 'n2', 'or it was served by the survivor');
    const failoverStarted = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        client!.run({ cmd: 'call', service: 'pay', method: 'whoami', params: [] }),
      ),
    );
    figure(t, '10 calls after the kill answered in', Date.now() - failoverStarted, 'ms');
    figure(
      t,
      'calls after the kill answered by the survivor',
      answers.filter((a) => a === 'n2').length,
      'of 10',
    );
    assert.deepEqual(
      new Set(answers),
      new Set(['n2']),
      'idempotent calls fail over to the live provider',
    );
  });

  it('recovers unaided from a Redis restart, with every subscription back exactly once', async (t) => {
    const [a, b] = await startNodes(2);
    await b!.run({ cmd: 'subscribe', pattern: 'ping', tag: 'p' });
    await b!.run({ cmd: 'subscribe', pattern: 'ping', group: 'g', tag: 'g' });
    await b!.run({ cmd: 'register', service: 'svc' });
    await redis.restart();
    const restartedAt = Date.now();
    // Traffic resumes by itself once both hosts have reconnected and re-announced.
    await until(
      async () => {
        await a!
          .run({ cmd: 'publish', event: 'ping', data: { probe: true } })
          .catch(() => undefined);
        return b!.tagged('p').length > 0 && b!.tagged('g').length > 0;
      },
      20_000,
      'events after restart',
    );
    figure(t, 'Redis restarted empty: events flow again after', Date.now() - restartedAt, 'ms');
    await until(
      async () =>
        (await a!
          .run({ cmd: 'call', service: 'svc', method: 'whoami', params: [] })
          .catch(() => '')) === 'n1',
      20_000,
      'RPC after restart',
    );
    figure(t, 'Redis restarted empty: RPC answered again after', Date.now() - restartedAt, 'ms');
    const before = { p: b!.tagged('p').length, g: b!.tagged('g').length };
    for (let i = 0; i < 5; i++) await a!.run({ cmd: 'publish', event: 'ping', data: { i } });
    await until(
      () => b!.tagged('p').length >= before.p + 5 && b!.tagged('g').length >= before.g + 5,
      5000,
      'five more',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    figure(t, 'plain deliveries after the restart', b!.tagged('p').length - before.p, 'of 5');
    figure(t, 'group deliveries after the restart', b!.tagged('g').length - before.g, 'of 5');
    assert.equal(
      b!.tagged('p').length - before.p,
      5,
      'plain subscription delivers each event once',
    );
    assert.equal(
      b!.tagged('g').length - before.g,
      5,
      'group subscription delivers each event once',
    );
  });

  it('settles pending work by its deadline while Redis is frozen, then resumes', async (t) => {
    const [a, b] = await startNodes(2);
    await b!.run({ cmd: 'register', service: 'svc' });
    await b!.run({ cmd: 'subscribe', pattern: 'after.freeze', tag: 'f' });
    assert.equal(await a!.run({ cmd: 'call', service: 'svc', method: 'whoami', params: [] }), 'n1');
    redis.pause();
    try {
      const started = Date.now();
      const outcomes = await Promise.allSettled([
        a!.run({ cmd: 'call', service: 'svc', method: 'whoami', params: [], timeout: 1500 }, 8000),
        a!.run({ cmd: 'publish', event: 'during.freeze', data: {} }, 8000),
      ]);
      const took = Date.now() - started;
      assert.ok(took < 6000, `settled in ${took} ms`);
      assert.equal(outcomes[0].status, 'rejected');
      assert.match(String(outcomes[0].reason.code), /PB_TIMEOUT|PB_BACKEND_UNAVAILABLE/);
      figure(
        t,
        'frozen: call and publish settled after',
        took,
        `ms (call: ${String(outcomes[0].reason.code)}, publish: ${outcomes[1].status})`,
      );
    } finally {
      redis.resume();
    }
    const resumedAt = Date.now();
    await until(
      async () =>
        (await a!
          .run({ cmd: 'call', service: 'svc', method: 'whoami', params: [] })
          .catch(() => '')) === 'n1',
      15_000,
      'RPC after freeze',
    );
    figure(t, 'after SIGCONT: RPC answered again after', Date.now() - resumedAt, 'ms');
    await until(
      async () => {
        await a!.run({ cmd: 'publish', event: 'after.freeze', data: {} }).catch(() => undefined);
        return b!.tagged('f').length > 0;
      },
      15_000,
      'events after freeze',
    );
    figure(t, 'after SIGCONT: events flow again after', Date.now() - resumedAt, 'ms');
  });
});
