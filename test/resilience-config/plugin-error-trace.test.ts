/**
 * `plugin.error` names the plugin, the node and the trace of the failed work, for every source:
 * event handlers (and what they publish or send before their first await), queue handlers,
 * durable event handlers, timers, background tasks, the blocks' own reports, activate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import {
  createHost,
  definePlugin,
  type Host,
  type PluginContext,
  type QueueMessage,
} from '../../src/index.js';
import { silentLogger } from '../support/runtime.js';
import {
  assertRemoteTraces,
  collectReports,
  reportOf,
  startTwoHosts,
  type Reported,
} from './trace-support.js';

/** One host: a monitor collecting `plugin.error`, and a plugin `app` handing over its context. */
async function oneHost(extra: Parameters<typeof definePlugin>[0][] = []) {
  const reports: Reported[] = [];
  let app!: PluginContext;
  const host: Host = await createHost({
    nodeId: 'solo',
    logger: silentLogger,
    plugins: [
      definePlugin({
        name: 'monitor',
        version: '1.0.0',
        activate: (context) => collectReports(context, reports),
      }),
      definePlugin({
        name: 'app',
        version: '1.0.0',
        dependencies: { monitor: '*' },
        activate: (context) => void (app = context),
      }),
      ...extra.map((plugin) => definePlugin({ ...plugin, dependencies: { monitor: '*' } })),
    ],
  });
  await host.start();
  return { host, app: () => app, reports };
}

describe('plugin.error trace ids', () => {
  it("an event handler's failure carries the event's trace, node and plugin", async () => {
    const { host, app, reports } = await oneHost();
    try {
      let seen = '';
      app().eventBus.subscribe('user.created', (_data, _next, meta) => void (seen = meta.traceId));
      app().eventBus.subscribe('user.created', () => {
        throw new Error('boom');
      });
      await app().eventBus.publish('user.created', { id: 1 });
      const report = await reportOf(reports, (r) => r.data.event === 'user.created');
      assert.equal(report.data.pluginId, 'app');
      assert.equal(report.data.nodeId, 'solo');
      assert.equal(report.data.traceId, seen);
      assert.equal(report.meta.traceId, seen);
    } finally {
      await host.stop();
    }
  });

  it('an event published from a handler, and its handlers, continue the trace', async () => {
    const { host, app, reports } = await oneHost();
    try {
      let first = '';
      const traces: string[] = [];
      app().eventBus.subscribe('step.one', async (_data, _next, meta) => {
        first = meta.traceId;
        await app().eventBus.publish('step.two', {});
        // After an await the trace is no longer implicit: pass it on explicitly.
      });
      app().eventBus.subscribe('step.two', (_data, _next, meta) => {
        traces.push(meta.traceId);
        throw new Error('second step failed');
      });
      await app().eventBus.publish('step.one', {});
      const report = await reportOf(reports, (r) => r.data.event === 'step.two');
      assert.ok(first.length > 0);
      assert.deepEqual(traces, [first]);
      assert.equal(report.data.traceId, first);
      // A top-level publish starts its own trace.
      let fresh = '';
      app().eventBus.subscribe('step.three', (_d, _n, meta) => void (fresh = meta.traceId));
      await app().eventBus.publish('step.three', {});
      assert.notEqual(fresh, first);
    } finally {
      await host.stop();
    }
  });

  it("a queue message keeps its sender's trace (implicit or explicit); without one, its id", async () => {
    const { host, app, reports } = await oneHost();
    try {
      const received: QueueMessage[] = [];
      app().messageQueue.receive('jobs', (message) => {
        received.push(message);
        throw new Error(`job ${String(message.data)} failed`);
      });
      let eventTrace = '';
      app().eventBus.subscribe('job.requested', (data, _next, meta) => {
        eventTrace = meta.traceId;
        return app().messageQueue.send('jobs', data);
      });
      await app().eventBus.publish('job.requested', 'from-event');
      const fromEvent = await reportOf(reports, (r) => r.data.error === 'job from-event failed');
      assert.equal(fromEvent.data.event, 'queue.jobs');
      assert.equal(fromEvent.data.traceId, eventTrace);
      assert.equal(received[0]!.traceId, eventTrace);

      await app().messageQueue.send('jobs', 'explicit', { traceId: 'trace-42' });
      const explicit = await reportOf(reports, (r) => r.data.error === 'job explicit failed');
      assert.equal(explicit.data.traceId, 'trace-42');
      assert.equal(explicit.meta.traceId, 'trace-42');

      const id = await app().messageQueue.send('jobs', 'top-level');
      const plain = await reportOf(reports, (r) => r.data.error === 'job top-level failed');
      assert.equal(plain.data.traceId, id);
      assert.equal(received.find((m) => m.data === 'top-level')!.traceId, id);

      await assert.rejects(app().messageQueue.send('jobs', 'x', { traceId: '' }), {
        name: 'ValidationError',
        details: { field: 'traceId' },
      });
    } finally {
      await host.stop();
    }
  });

  it('what a queue handler sends before its first await continues the message trace', async () => {
    const { host, app, reports } = await oneHost();
    try {
      app().messageQueue.receive('first', async (message) => {
        await app().messageQueue.send('second', message.data);
      });
      app().messageQueue.receive('second', () => {
        throw new Error('second failed');
      });
      await app().messageQueue.send('first', 1, { traceId: 'chain-1' });
      const report = await reportOf(reports, (r) => r.data.event === 'queue.second');
      assert.equal(report.data.traceId, 'chain-1');
    } finally {
      await host.stop();
    }
  });

  it("a durable event handler's failure carries the event's trace", async () => {
    const { host, app, reports } = await oneHost();
    try {
      let trace = '';
      app().eventBus.subscribe('audit.entry', (_d, _n, meta) => void (trace = meta.traceId));
      const sub = app().eventBus.subscribe(
        'audit.entry',
        () => {
          throw new Error('durable failed');
        },
        { group: 'auditors', durable: true },
      );
      await sub.ready;
      await app().eventBus.publish('audit.entry', {});
      const report = await reportOf(reports, (r) => r.data.error === 'durable failed');
      assert.equal(report.data.traceId, trace);
      assert.equal(report.data.pluginId, 'app');
    } finally {
      await host.stop();
    }
  });

  it('timers, background tasks and block reports get a fresh trace each, with node and plugin', async () => {
    const { host, app, reports } = await oneHost();
    try {
      app().timers.setTimeout(() => {
        throw new Error('timer failed');
      }, 1);
      app().background.run('sweep', async () => {
        throw new Error('background failed');
      });
      const watch = app().dataSync.watch('notes', () => {
        throw new Error('watcher failed');
      });
      await watch.ready;
      const watched = await app().dataSync.publish('notes', { type: 'create', id: 1, data: {} });
      assert.ok(watched.seq >= 1);
      const timer = await reportOf(reports, (r) => r.data.event === 'timer');
      const background = await reportOf(reports, (r) => r.data.event === 'background.sweep');
      const watcher = await reportOf(reports, (r) => r.data.error === 'watcher failed');
      const ids = [timer, background, watcher].map((r) => r.data.traceId);
      assert.equal(new Set(ids).size, 3, 'each failure has its own trace');
      for (const r of [timer, background, watcher]) {
        assert.equal(r.data.pluginId, 'app');
        assert.equal(r.data.nodeId, 'solo');
        assert.equal(r.meta.traceId, r.data.traceId);
        assert.ok(r.data.traceId.length > 0);
      }
    } finally {
      await host.stop();
    }
  });

  it('activate and deactivate failures are reported with a fresh trace each and the node', async () => {
    const { host, reports } = await oneHost([
      {
        name: 'broken',
        version: '1.0.0',
        activate() {
          throw new Error('cannot activate');
        },
      },
      {
        name: 'stubborn',
        version: '1.0.0',
        activate() {},
        deactivate() {
          throw new Error('cannot deactivate');
        },
      },
    ]);
    const activated = await reportOf(reports, (r) => r.data.event === 'plugin.activate');
    // `stubborn` depends on the monitor, so it stops first: the monitor still hears it.
    await host.stop();
    const deactivated = await reportOf(reports, (r) => r.data.event === 'plugin.deactivate');
    assert.deepEqual(
      [activated, deactivated].map((r) => [r.data.pluginId, r.data.nodeId]),
      [
        ['broken', 'solo'],
        ['stubborn', 'solo'],
      ],
    );
    assert.equal(activated.meta.traceId, activated.data.traceId);
    assert.ok(activated.data.traceId.length > 0);
    assert.notEqual(deactivated.data.traceId, activated.data.traceId);
  });

  it('a subscriber on another host of an in-process cluster sees plugin, node and trace', async () => {
    const network = new MemoryNetwork();
    const hosts = await startTwoHosts(() => ({ memory: network }), 'shipments');
    try {
      await assertRemoteTraces(hosts);
    } finally {
      await hosts.stop();
    }
  });
});
