import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { LockTimeoutError, type Host, type PluginContext } from '../../src/index.js';
import { CappedLabels, OTHER_LABEL } from '../../src/metrics/capped-labels.js';
import { waitFor } from '../backends/redis/support.js';
import { sample, startHost } from './support.js';

describe('metrics: every building block moves its metrics (memory)', () => {
  let host: Host;
  let a: PluginContext;
  let b: PluginContext;

  before(async () => {
    const started = await startHost(['metrics-a', 'metrics-b']);
    host = started.host;
    a = started.ctx['metrics-a']!;
    b = started.ctx['metrics-b']!;
  });
  after(() => host.stop());

  it('counts events published and delivered per name, and times handlers', async () => {
    b.eventBus.subscribe('order.placed', () => undefined);
    b.eventBus.subscribe('order.*', async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
    });
    for (let i = 0; i < 3; i++) await a.eventBus.publish('order.placed', { i });
    await a.eventBus.publish('nobody.listens', {});
    const { events } = await host.metrics();
    assert.equal(events['order.placed']?.published, 3);
    assert.equal(events['order.placed']?.delivered, 6);
    assert.equal(events['nobody.listens']?.published, 1);
    assert.equal(events['nobody.listens']?.delivered, 0);
    // Handlers are timed on a sample of deliveries per name, the first always.
    const latency = events['order.placed']?.handlerLatency ?? { count: 0 };
    assert.ok(latency.count >= 1 && latency.count <= 6, `timed ${latency.count}`);
    const text = await host.metrics({ format: 'prometheus' });
    assert.equal(sample(text, 'plugboard_events_published_total{event="order.placed"}'), 3);
    assert.equal(sample(text, 'plugboard_events_delivered_total{event="order.placed"}'), 6);
    assert.equal(
      sample(text, 'plugboard_event_handler_duration_seconds_count{event="order.placed"}'),
      latency.count,
    );
  });

  it('times an async handler until it settles', async () => {
    b.eventBus.subscribe('slow.job', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    await a.eventBus.publish('slow.job', {});
    const latency = (await host.metrics()).events['slow.job']!.handlerLatency;
    assert.equal(latency.count, 1);
    assert.ok(latency.sumSeconds >= 0.004, `took ${latency.sumSeconds} s`);
  });

  it('counts RPC calls and errors per service and method, with latency', async () => {
    a.rpcServer.register('calc', {
      add: (x: number, y: number) => x + y,
      fail: () => {
        throw new Error('no');
      },
    });
    assert.equal(await b.rpcClient.call('calc', 'add', [1, 2]), 3);
    assert.equal(await b.rpcClient.call('calc', 'add', [2, 2]), 4);
    await assert.rejects(b.rpcClient.call('calc', 'fail', []));
    await assert.rejects(b.rpcClient.call('missing-service', 'x', [], { timeout: 50 }));
    const { rpc } = await host.metrics();
    assert.equal(rpc['calc']?.['add']?.calls, 2);
    assert.equal(rpc['calc']?.['add']?.errors, 0);
    assert.equal(rpc['calc']?.['add']?.latency.count, 1, 'the first call is timed, then one in 16');
    assert.equal(rpc['calc']?.['fail']?.errors, 1);
    assert.equal(rpc['missing-service']?.['x']?.errors, 1);
    const text = await host.metrics({ format: 'prometheus' });
    assert.equal(sample(text, 'plugboard_rpc_calls_total{service="calc",method="add"}'), 2);
    assert.equal(sample(text, 'plugboard_rpc_errors_total{service="calc",method="fail"}'), 1);
    assert.equal(
      sample(text, 'plugboard_rpc_call_duration_seconds_count{service="calc",method="add"}'),
      1,
    );
  });

  it('counts every failure, timed or not, where the call fails (parity off and on)', async () => {
    // 20 calls per method: calls 1 and 17 are timed, the others only counted.
    const calls = 20;
    for (const parity of [false, true]) {
      const started = await startHost(['fail-a', 'fail-b'], { parity });
      try {
        const server = started.ctx['fail-a']!;
        const client = started.ctx['fail-b']!;
        server.rpcServer.register('flaky', {
          ok: () => 1,
          throws: () => {
            throw new Error('sync');
          },
          rejects: () => Promise.reject(new Error('async')),
          slow: () => new Promise((resolve) => setTimeout(resolve, 200)),
          unencodable: () => () => undefined,
        });
        const failing: [string, unknown, number?][] = [
          ['throws', []],
          ['rejects', []],
          ['slow', [], 5],
          ['ok', 'not an array'],
        ];
        if (parity) failing.push(['unencodable', []]);
        for (const [method, params, timeout] of failing) {
          for (let i = 0; i < calls; i++) {
            await assert.rejects(client.rpcClient.call('flaky', method, params as [], { timeout }));
          }
        }
        for (let i = 0; i < calls; i++) {
          await assert.rejects(client.rpcClient.call('absent', 'x', []));
          assert.equal(await client.rpcClient.call('flaky', 'ok', []), 1);
        }
        const { rpc } = await started.host.metrics();
        for (const [method] of failing.filter(([m]) => m !== 'ok')) {
          const series = rpc['flaky']?.[method];
          assert.equal(series?.calls, calls, `${method} calls (parity ${parity})`);
          assert.equal(series?.errors, calls, `${method} errors (parity ${parity})`);
          assert.equal(series?.latency.count, 2, `${method} timed (parity ${parity})`);
        }
        assert.equal(rpc['absent']?.['x']?.errors, calls);
        // 'ok': the bad-params calls failed, the good ones did not.
        assert.equal(rpc['flaky']?.['ok']?.calls, 2 * calls);
        assert.equal(rpc['flaky']?.['ok']?.errors, calls);
        assert.equal(rpc['flaky']?.['ok']?.latency.count, 3);
      } finally {
        await started.host.stop();
      }
    }
  });

  it('reads queue depth, in flight and dead letters per queue', async () => {
    await a.messageQueue.send('metrics.jobs', { n: 1 });
    await a.messageQueue.send('metrics.jobs', { n: 2 });
    await a.messageQueue.send('metrics.later', { n: 3 }, { delay: 60_000 });
    // Queue counts are read at most once a second: an earlier read may still be reused.
    await waitFor(async () => (await host.metrics()).queues['metrics.later'] !== undefined, 3000);
    const { queues } = await host.metrics();
    assert.deepEqual(queues['metrics.jobs'], { waiting: 2, delayed: 0, inFlight: 0, dead: 0 });
    assert.equal(queues['metrics.later']?.delayed, 1);
    const text = await host.metrics({ format: 'prometheus' });
    assert.equal(sample(text, 'plugboard_queue_waiting{queue="metrics.jobs",kind="work"}'), 2);
    assert.equal(sample(text, 'plugboard_queue_dead{queue="metrics.jobs",kind="work"}'), 0);
  });

  it('reads durable event queues as group:pattern', async () => {
    const sub = b.eventBus.subscribe('invoice.*', () => undefined, {
      group: 'billing',
      durable: true,
    });
    await sub.ready;
    await waitFor(
      async () => (await host.metrics()).durableQueues['billing:invoice.*'] !== undefined,
      3000,
      'the durable queue in the metrics',
    );
    const text = await host.metrics({ format: 'prometheus' });
    assert.equal(sample(text, 'plugboard_queue_dead{queue="billing:invoice.*",kind="durable"}'), 0);
    sub.unsubscribe();
  });

  it('times lock waits and holds, counts timeouts and locks held', async () => {
    const lock = await a.lock.acquire('metrics:resource', { ttl: 10_000 });
    let snap = await host.metrics();
    assert.equal(snap.locks.held, 1);
    await assert.rejects(b.lock.acquire('metrics:resource', { waitTimeout: 50 }), LockTimeoutError);
    await lock.release();
    snap = await host.metrics();
    assert.equal(snap.locks.acquired, 1);
    assert.equal(snap.locks.timedOut, 1);
    assert.equal(snap.locks.held, 0);
    assert.equal(snap.locks.wait.count, 2);
    assert.ok(snap.locks.wait.sumSeconds >= 0.04, `waited ${snap.locks.wait.sumSeconds}`);
    assert.equal(snap.locks.hold.count, 1);
    const text = await host.metrics({ format: 'prometheus' });
    assert.equal(sample(text, 'plugboard_lock_timeouts_total'), 1);
    assert.equal(sample(text, 'plugboard_locks_held'), 0);
    assert.equal(sample(text, 'plugboard_lock_wait_seconds_count'), 2);
  });

  it('counts transactions by outcome', async () => {
    const ok = await a.transactionManager.begin();
    ok.enlist({
      name: 'yes',
      prepare: () => true,
      commit: () => undefined,
      rollback: () => undefined,
    });
    await ok.commit();
    const refused = await a.transactionManager.begin();
    refused.enlist({
      name: 'no',
      prepare: () => false,
      commit: () => undefined,
      rollback: () => undefined,
    });
    await assert.rejects(refused.commit());
    const rolledBack = await a.transactionManager.begin();
    await rolledBack.rollback();
    const { transactions } = await host.metrics();
    assert.deepEqual(transactions, { committed: 1, aborted: 2, inDoubt: 0 });
    const text = await host.metrics({ format: 'prometheus' });
    assert.equal(sample(text, 'plugboard_transactions_total{outcome="aborted"}'), 2);
  });

  it('counts cache hits and misses', async () => {
    await a.cache.set('metrics:k', 1);
    await a.cache.get('metrics:k');
    await a.cache.get('metrics:absent');
    const { cache } = await host.metrics();
    assert.deepEqual(cache, { hits: 1, misses: 1 });
  });

  it('reports breaker state, and a plugin whose breaker is open is degraded', async () => {
    const breaker = a.circuitBreakerFactory.create('metrics-dependency', {
      failureThreshold: 50,
      minimumCalls: 2,
      timeout: 60_000,
    });
    assert.deepEqual(host.health().degraded, []);
    for (let i = 0; i < 2; i++)
      await assert.rejects(breaker.execute(() => Promise.reject(new Error('down'))));
    assert.equal(breaker.state, 'open');
    const health = host.health();
    assert.equal(health.plugins['metrics-a']?.degraded, true);
    assert.deepEqual(health.plugins['metrics-a']?.openBreakers, ['metrics-dependency']);
    assert.equal(health.plugins['metrics-b']?.degraded, false);
    assert.deepEqual(health.degraded, ['metrics-a']);
    assert.equal(health.ok, true, 'degraded is not down');
    const { breakers } = await host.metrics();
    assert.equal(breakers['metrics-dependency']?.state, 'open');
    assert.equal(breakers['metrics-dependency']?.failures, 2);
    assert.deepEqual(breakers['metrics-dependency']?.plugins, ['metrics-a']);
    const text = await host.metrics({ format: 'prometheus' });
    assert.equal(sample(text, 'plugboard_breaker_state{breaker="metrics-dependency"}'), 2);
    breaker.reset();
    assert.equal(host.health().plugins['metrics-a']?.degraded, false);
  });

  it('reports the memory backend as one connection, up', () => {
    assert.deepEqual(host.health().connections, [{ name: 'memory', up: true, status: 'ready' }]);
  });
});

describe('metrics: bounded label values', () => {
  it('keeps at most `cap` values and folds the rest into _other', () => {
    const made: Array<string | undefined> = [];
    const labels = new CappedLabels(3, (key) => {
      made.push(key);
      return { n: 0 };
    });
    for (let i = 0; i < 10; i++) labels.get(`name-${i}`).n++;
    labels.get('name-0').n++;
    assert.equal(labels.size, 3);
    assert.deepEqual(made, ['name-0', 'name-1', 'name-2', undefined]);
    assert.deepEqual(
      [...labels].map(([key, v]) => [key, v.n]),
      [
        ['name-0', 2],
        ['name-1', 1],
        ['name-2', 1],
        [OTHER_LABEL, 7],
      ],
    );
  });

  it('a host publishing 600 distinct event names reports 500 and _other', async () => {
    const { host, ctx } = await startHost(['many-names']);
    try {
      for (let i = 0; i < 600; i++) await ctx['many-names']!.eventBus.publish(`item.${i}`, i);
      const { events } = await host.metrics();
      // 500 names of their own (the host's lifecycle events among them), the rest in _other.
      assert.equal(Object.keys(events).length, 501);
      const kept = Object.keys(events).filter((name) => name.startsWith('item.'));
      assert.ok(kept.length > 490, `kept ${kept.length}`);
      assert.equal(events['item.0']?.published, 1);
      assert.equal(events['item.599'], undefined);
      assert.equal(events[OTHER_LABEL]?.published, 600 - kept.length);
      const text = await host.metrics({ format: 'prometheus' });
      const lines = text
        .split('\n')
        .filter((l) => l.startsWith('plugboard_events_published_total{'));
      assert.equal(lines.length, 501);
    } finally {
      await host.stop();
    }
  });
});

describe('metrics: one registry per host', () => {
  it('two hosts in one process count apart and leave the global registry alone', async () => {
    const one = await startHost(['twin']);
    const two = await startHost(['twin']);
    try {
      await one.ctx['twin']!.eventBus.publish('twin.ping', 1);
      await one.ctx['twin']!.eventBus.publish('twin.ping', 2);
      await two.ctx['twin']!.eventBus.publish('twin.ping', 3);
      assert.equal((await one.host.metrics()).events['twin.ping']?.published, 2);
      assert.equal((await two.host.metrics()).events['twin.ping']?.published, 1);
      const text = await two.host.metrics({ format: 'prometheus' });
      assert.equal(sample(text, 'plugboard_events_published_total{event="twin.ping"}'), 1);
      assert.equal(globalRegistry.getSingleMetric('plugboard_events_published_total'), undefined);
    } finally {
      await Promise.all([one.host.stop(), two.host.stop()]);
    }
  });

  it('metrics: false counts nothing and host.metrics() says so', async () => {
    const { host, ctx } = await startHost(['quiet'], { metrics: false });
    try {
      await ctx['quiet']!.eventBus.publish('quiet.ping', 1);
      await assert.rejects(host.metrics(), { code: 'PB_HOST_STATE' });
      assert.equal(host.health().ok, true);
    } finally {
      await host.stop();
    }
  });
});
