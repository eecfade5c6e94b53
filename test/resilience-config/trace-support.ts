/**
 * The two-host `plugin.error` scenario, run on an in-process cluster and on Redis: host "a"
 * publishes and watches `plugin.error`; host "b" fails in an event handler and in a queue handler
 * fed by an event handler. Host a must see b's plugin name, b's node id and the trace it started.
 */
import assert from 'node:assert/strict';
import type { BackendOption } from '../../src/backends/resolve.js';
import {
  createHost,
  definePlugin,
  type EventMeta,
  type Host,
  type PluginContext,
  type PluginErrorEvent,
} from '../../src/index.js';
import { silentLogger } from '../support/runtime.js';

export interface Reported {
  readonly data: PluginErrorEvent;
  readonly meta: EventMeta;
}

export interface TwoHosts {
  readonly a: Host;
  readonly b: Host;
  /** Host a's sender plugin. */
  readonly sender: PluginContext;
  /** `plugin.error` events host a saw. */
  readonly reports: Reported[];
  /** The trace each `order.*` event had on host a, by event name. */
  readonly traces: Map<string, string>;
  stop(): Promise<void>;
}

export async function startTwoHosts(
  backend: () => BackendOption,
  queue: string,
): Promise<TwoHosts> {
  const reports: Reported[] = [];
  const traces = new Map<string, string>();
  let sender!: PluginContext;
  const a = await createHost({
    nodeId: 'node-a',
    logger: silentLogger,
    backend: backend(),
    plugins: [
      definePlugin({
        name: 'monitor',
        version: '1.0.0',
        activate(context) {
          collectReports(context, reports);
          context.eventBus.subscribe('order.*', (_data, _next, meta) => {
            traces.set(meta.event, meta.traceId);
          });
          sender = context;
        },
      }),
    ],
  });
  const b = await createHost({
    nodeId: 'node-b',
    logger: silentLogger,
    backend: backend(),
    plugins: [
      definePlugin({
        name: 'worker',
        version: '1.0.0',
        activate(context) {
          context.eventBus.subscribe('order.placed', () => {
            throw new Error('cannot place');
          });
          // Sent before the handler's first await: the message keeps the event's trace.
          context.eventBus.subscribe('order.queued', async (data) => {
            await context.messageQueue.send(queue, data);
          });
          context.messageQueue.receive(queue, () => {
            throw Object.assign(new Error('cannot ship'), { code: 'SHIP_FAILED' });
          });
        },
      }),
    ],
  });
  await a.start();
  await b.start();
  return {
    a,
    b,
    sender,
    reports,
    traces,
    async stop() {
      await Promise.all([b.stop(), a.stop()]);
    },
  };
}

/** Push every `plugin.error` event `context` sees (data and meta) to `into`. */
export function collectReports(context: PluginContext, into: Reported[]): void {
  context.eventBus.subscribe('plugin.error', (data, _next, meta) => {
    into.push({ data: data as PluginErrorEvent, meta });
  });
}

/** Resolve with the first report matching `match`, polling on each macrotask; bounded. */
export async function reportOf(
  reports: readonly Reported[],
  match: (report: Reported) => boolean,
  timeoutMs = 10_000,
): Promise<Reported> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = reports.find(match);
    if (found !== undefined) return found;
    assert.ok(Date.now() < end, `no matching plugin.error within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Both cross-host cases: an event handler's failure and a queue handler's. */
export async function assertRemoteTraces(hosts: TwoHosts): Promise<void> {
  const { sender, reports, traces } = hosts;
  await sender.eventBus.publish('order.placed', { id: 1 });
  const placed = await reportOf(reports, (r) => r.data.event === 'order.placed');
  assert.equal(placed.data.pluginId, 'worker');
  assert.equal(placed.data.nodeId, 'node-b');
  assert.equal(placed.data.error, 'cannot place');
  assert.equal(placed.data.traceId, traces.get('order.placed'));
  assert.equal(placed.meta.traceId, placed.data.traceId, 'plugin.error rides the same trace');

  await sender.eventBus.publish('order.queued', { id: 2 });
  const shipped = await reportOf(reports, (r) => r.data.event.startsWith('queue.'));
  assert.equal(shipped.data.pluginId, 'worker');
  assert.equal(shipped.data.nodeId, 'node-b');
  assert.equal(shipped.data.code, 'SHIP_FAILED');
  assert.equal(shipped.data.traceId, traces.get('order.queued'));
  assert.equal(shipped.meta.traceId, shipped.data.traceId);
}
