import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server/dashboard.js';
import { showData } from '../../src/dashboard/server/payload.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host } from '../../src/host/types.js';
import type { Lock, Transaction } from '../../src/index.js';
import { waitFor } from '../backends/redis/support.js';
import { silentLogger } from '../support/runtime.js';
import { rawGet, StreamReader } from './support.js';

describe('dashboard API (memory)', () => {
  let host: Host;
  let dashboard: Dashboard;
  let store!: PluginContext;
  let shop!: PluginContext;
  let lock: Lock | null = null;
  let tx: Transaction;
  let failing = true;
  const processed: unknown[] = [];
  let ui: string;

  const api = async (path: string, init?: RequestInit): Promise<Response> =>
    fetch(`http://127.0.0.1:${dashboard.port}${path}`, init);

  before(async () => {
    ui = await mkdtemp(join(tmpdir(), 'pb-dash-ui-'));
    await mkdir(join(ui, 'assets'));
    await writeFile(join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    await writeFile(join(ui, 'assets', 'app.js'), 'console.log(1);');
    await writeFile(join(ui, 'assets', 'app.css'), 'body{}');
    await writeFile(join(ui, 'secret.txt'), 'not for you');
    host = await createHost({
      logger: silentLogger,
      plugins: [
        definePlugin({
          name: 'store',
          version: '1.2.0',
          activate: (c) => {
            store = c;
            c.rpcServer.register('inventory', { count: () => 3 });
            c.circuitBreakerFactory.create('payments');
          },
        }),
        definePlugin({
          name: 'shop',
          version: '1.0.0',
          dependencies: { store: '^1.0.0' },
          activate: (c) => void (shop = c),
        }),
      ],
    });
    await host.start();
    store.messageQueue.receive('jobs', (message) => {
      if (failing) throw new Error('not today');
      processed.push(message.data);
    });
    lock = await store.lock.acquire('orders', { ttl: 30_000 });
    tx = await shop.transactionManager.begin();
    dashboard = await startDashboard(host, { port: 0, uiDirectory: ui, stream: { maxClients: 3 } });
  });

  after(async () => {
    await tx.rollback();
    await lock?.release();
    await dashboard.close();
    await host.stop();
    await rm(ui, { recursive: true, force: true });
  });

  it('lists plugins with levels and dependencies, services, queues, breakers, locks and transactions', async () => {
    await store.messageQueue.sendDelayed('later', { n: 1 }, 60_000);
    const overview = (await (await api('/api/overview')).json()) as Record<string, unknown>;
    assert.equal(overview['nodeId'], host.nodeId);
    assert.equal(overview['backend'], 'memory');
    assert.equal(overview['status'], 'running');
    assert.deepEqual(overview['nodes'], [{ nodeId: host.nodeId, self: true }]);
    assert.deepEqual(overview['plugins'], [
      {
        name: 'store',
        version: '1.2.0',
        state: 'active',
        level: 0,
        dependencies: {},
        permissions: null,
      },
      {
        name: 'shop',
        version: '1.0.0',
        state: 'active',
        level: 1,
        dependencies: { store: '^1.0.0' },
        permissions: null,
      },
    ]);
    const services = overview['services'] as Array<{ name: string; instances: unknown[] }>;
    assert.deepEqual(
      services.map((s) => s.name),
      ['inventory'],
    );
    const [instance] = services[0]!.instances as Array<{ id: string }>;
    assert.deepEqual(services[0]!.instances, [
      { id: instance!.id, nodeId: host.nodeId, pluginId: 'store', methods: ['count'] },
    ]);
    const queues = overview['queues'] as Array<{ name: string; delayed: number }>;
    assert.equal(queues.find((q) => q.name === 'later')?.delayed, 1);
    assert.deepEqual(overview['breakers'], [
      { name: 'payments', state: 'closed', nodeId: host.nodeId, failures: 0, successes: 0 },
    ]);
    const locks = overview['locks'] as Array<{ resource: string; pluginId: string }>;
    assert.deepEqual(
      locks.map((l) => [l.resource, l.pluginId]),
      [['orders', 'store']],
    );
    const transactions = overview['transactions'] as {
      active: number;
      recent: Array<{ id: string; state: string }>;
    };
    assert.equal(transactions.active, 1);
    assert.deepEqual(
      transactions.recent.map((t) => [t.id, t.state]),
      [[tx.id, 'active']],
    );
  });

  it('streams published events matching the pattern, with large data truncated', async () => {
    const reader = new StreamReader(dashboard.port, '/api/events?pattern=order.*');
    assert.equal(await reader.opened(), 200);
    try {
      await shop.eventBus.publish('user.created', { id: 1 });
      await shop.eventBus.publish('order.created', { id: 7 });
      await shop.eventBus.publish('order.paid', { blob: 'x'.repeat(5000) });
      await reader.until((events) => events.length >= 2);
      const [created, paid] = reader.events;
      assert.equal(created!.name, 'order.created', 'user.created was filtered out');
      assert.equal(created!.source, 'shop');
      assert.equal(created!.nodeId, host.nodeId);
      assert.deepEqual(created!.data, { id: 7 });
      assert.equal(typeof created!.traceId, 'string');
      assert.equal(typeof created!.time, 'number');
      assert.equal(paid!.name, 'order.paid');
      assert.equal(paid!.truncated, true);
      assert.equal((paid!.data as string).length, 2048);
    } finally {
      reader.close();
    }
  });

  it('sends heartbeats, and subscribes nothing plugins could see', async () => {
    const beating = await startDashboard(host, { port: 0, stream: { heartbeatMs: 20 } });
    const subscriptions = host.health().runtime!.subscriptions;
    const seen: unknown[] = [];
    const sub = shop.eventBus.subscribe('beat.*', (data) => void seen.push(data));
    const reader = new StreamReader(beating.port, '/api/events?pattern=beat.*');
    try {
      assert.equal(await reader.opened(), 200);
      assert.equal(host.health().runtime!.subscriptions, subscriptions + 1, 'only the plugin');
      const data = { n: 1 };
      await shop.eventBus.publish('beat.one', data);
      await reader.until((events) => events.length === 1);
      await waitFor(() => reader.comments >= 3, 3000, 'heartbeats');
      assert.equal(seen.length, 1);
      assert.deepEqual(seen[0], data);
    } finally {
      reader.close();
      sub.unsubscribe();
      await beating.close();
    }
  });

  it('shows data that JSON cannot carry as it is, and data it cannot show as a note', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    assert.deepEqual(showData(circular), {
      json: '"[data that cannot be shown as JSON]"',
      truncated: false,
    });
    const shown = showData({ n: 10n, bytes: new Uint8Array(3), map: new Map([['a', 1]]) });
    assert.deepEqual(JSON.parse(shown.json), { n: '10', bytes: '<3 bytes>', map: { a: 1 } });
    assert.deepEqual(showData(undefined), { json: 'null', truncated: false });
  });

  it('refuses a bad pattern and more clients than its bound', async () => {
    const bad = await api('/api/events?pattern=a..b');
    assert.equal(bad.status, 400);
    const readers = [1, 2, 3].map(() => new StreamReader(dashboard.port, '/api/events'));
    try {
      assert.deepEqual(await Promise.all(readers.map((r) => r.opened())), [200, 200, 200]);
      const extra = new StreamReader(dashboard.port, '/api/events');
      assert.equal(await extra.opened(), 503);
      extra.close();
    } finally {
      for (const r of readers) r.close();
    }
    await waitFor(() => dashboard.stats().clients === 0, 3000, 'streams closed');
  });

  it('drops a client that stops reading, and counts it', async () => {
    const slow = await startDashboard(host, {
      port: 0,
      uiDirectory: ui,
      stream: { maxClientBufferBytes: 64 * 1024 },
    });
    const reader = new StreamReader(slow.port, '/api/events?pattern=flood');
    try {
      assert.equal(await reader.opened(), 200);
      reader.pause();
      const blob = 'y'.repeat(4000);
      for (let i = 0; i < 20_000 && slow.stats().droppedClients === 0; i++) {
        await shop.eventBus.publish('flood', { blob });
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(slow.stats().droppedClients, 1);
      assert.equal(slow.stats().clients, 0);
    } finally {
      reader.close();
      await slow.close();
    }
  });

  it('replays a dead letter to a consumer, and removes one', async () => {
    await store.messageQueue.send('jobs', { job: 1 });
    await waitFor(
      async () => (await store.messageQueue.stats('jobs')).dead === 1,
      5000,
      'dead letter',
    );
    const listed = (await (await api('/api/queues/jobs/dead?limit=10')).json()) as Array<{
      id: string;
      reason: string;
      attempt: number;
      failedAt: number;
      data: unknown;
    }>;
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0]!.data, { job: 1 });
    assert.equal(listed[0]!.reason, 'not today');
    assert.equal(listed[0]!.attempt, 1);
    failing = false;
    const replay = await api(`/api/queues/jobs/dead/${listed[0]!.id}/replay`, { method: 'POST' });
    assert.deepEqual(await replay.json(), { replayed: 1 });
    await waitFor(() => processed.length === 1, 5000, 'replayed message processed');
    assert.deepEqual(processed, [{ job: 1 }]);
    assert.equal((await store.messageQueue.stats('jobs')).dead, 0);

    failing = true;
    await store.messageQueue.send('jobs', { job: 2 });
    await waitFor(async () => (await store.messageQueue.stats('jobs')).dead === 1, 5000, 'dead');
    const [second] = (await (await api('/api/queues/jobs/dead')).json()) as Array<{ id: string }>;
    const removed = await api(`/api/queues/jobs/dead/${second!.id}`, { method: 'DELETE' });
    assert.deepEqual(await removed.json(), { removed: 1 });
    assert.deepEqual(await (await api('/api/queues/jobs/dead')).json(), []);
    const again = await api(`/api/queues/jobs/dead/${second!.id}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal((await api('/api/queues/bad..name/dead')).status, 400);
    assert.equal((await api('/api/queues/%E0%A4%A/dead')).status, 400);
    assert.equal((await api('/api/queues/jobs/dead?limit=0')).status, 400);
  });

  it('serves the UI with content types and refuses paths out of assets/', async () => {
    const index = await rawGet(dashboard.port, '/');
    assert.equal(index.status, 200);
    assert.match(index.type ?? '', /^text\/html/);
    const js = await rawGet(dashboard.port, '/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(js.type ?? '', /^text\/javascript/);
    assert.match((await rawGet(dashboard.port, '/assets/app.css')).type ?? '', /^text\/css/);
    for (const path of [
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/..%2fsecret.txt',
      '/assets/..%5csecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/secret.txt',
      '/assets/',
    ]) {
      const res = await rawGet(dashboard.port, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /not for you/, path);
    }
    const unbuilt = await startDashboard(host, { port: 0, uiDirectory: join(ui, 'missing') });
    try {
      const page = await rawGet(unbuilt.port, '/');
      assert.equal(page.status, 503);
      assert.match(page.body, /UI was not built/);
    } finally {
      await unbuilt.close();
    }
  });

  it('needs its token when given one or when listening beyond loopback', async () => {
    const guarded = await startDashboard(host, { port: 0, token: 'sesame-0123456789' });
    try {
      assert.equal((await rawGet(guarded.port, '/api/overview')).status, 401);
      assert.equal(
        (await rawGet(guarded.port, '/api/overview', { authorization: 'Bearer wrong-token!' }))
          .status,
        401,
      );
      assert.equal(
        (
          await rawGet(guarded.port, '/api/overview', {
            authorization: 'Bearer sesame-0123456789',
          })
        ).status,
        200,
      );
      assert.equal(
        (await rawGet(guarded.port, '/api/overview?token=sesame-0123456789')).status,
        200,
      );
      assert.equal(guarded.url, `http://127.0.0.1:${guarded.port}/?token=sesame-0123456789`);
      // The host's /metrics and /health are mounted too, behind the same token.
      assert.equal((await rawGet(guarded.port, '/health')).status, 401);
      const health = await rawGet(guarded.port, '/health?token=sesame-0123456789');
      assert.equal(health.status, 200);
      assert.equal((JSON.parse(health.body) as { status: string }).status, 'running');
      const metrics = await rawGet(guarded.port, '/metrics?token=sesame-0123456789');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /plugboard_/);
    } finally {
      await guarded.close();
    }
    const wide = await startDashboard(host, { port: 0, host: '0.0.0.0' });
    try {
      assert.equal(typeof wide.token, 'string');
      assert.ok(wide.token!.length >= 32);
      assert.equal((await rawGet(wide.port, '/api/overview')).status, 401);
      const stream = new StreamReader(wide.port, '/api/events');
      assert.equal(await stream.opened(), 401);
      stream.close();
      assert.equal(
        (await rawGet(wide.port, `/api/overview?token=${encodeURIComponent(wide.token!)}`)).status,
        200,
      );
    } finally {
      await wide.close();
    }
    // Loopback without a token: open to this machine, not to another site's page.
    assert.equal(dashboard.token, undefined);
    assert.equal((await rawGet(dashboard.port, '/api/overview')).status, 200);
    const crossSite = await rawGet(dashboard.port, '/api/overview', {
      origin: 'http://evil.example',
    });
    assert.equal(crossSite.status, 401);
    const rebound = await rawGet(dashboard.port, '/api/overview', { host: 'evil.example' });
    assert.equal(rebound.status, 401);
  });
});
