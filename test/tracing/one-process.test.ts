/**
 * Tracing on, in one process with two hosts on an in-process cluster (so the RPC call crosses the
 * transport as a request frame): an event, its handler's queue message, the consumer's RPC call
 * and the provider's own publish all share one trace id, in the handlers, in every log line
 * written inside them (after their awaits too), in `plugin.error` when the provider throws, and
 * as the OpenTelemetry trace id of spans linked parent to child.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import {
  createHost,
  currentTraceId,
  definePlugin,
  type Host,
  type PluginContext,
  type PluginErrorEvent,
} from '../../src/index.js';
import { captureLogs, only, registerInMemorySdk, until, type LogLine } from './support.js';

const spans = registerInMemorySdk();
const front = captureLogs();
const back = captureLogs();
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** What the plugins saw, by order id. */
const seen = {
  placed: new Map<string, string>(),
  inMethod: new Map<string, string | undefined>(),
  charged: new Map<string, string>(),
  errors: [] as PluginErrorEvent[],
  durable: [] as string[],
};
let shop!: PluginContext;
let hosts: Host[] = [];

before(async () => {
  const network = new MemoryNetwork();
  const backHost = await createHost({
    nodeId: 'back',
    logger: back.logger,
    backend: { memory: network },
    plugins: [
      definePlugin({
        name: 'billing',
        version: '1.0.0',
        activate(context) {
          context.rpcServer.register('billing', {
            async charge(order: { id: string; fail?: boolean }) {
              seen.inMethod.set(order.id, currentTraceId());
              context.logger.info({ order: order.id }, 'charging');
              await tick();
              await context.eventBus.publish('billing.charged', order);
              context.logger.info({ order: order.id }, 'charged');
              if (order.fail === true) throw new Error('card declined');
              return 'ok';
            },
          });
        },
      }),
    ],
  });
  const frontHost = await createHost({
    nodeId: 'front',
    logger: front.logger,
    backend: { memory: network },
    tracing: true,
    plugins: [
      definePlugin({
        name: 'shop',
        version: '1.0.0',
        activate(context) {
          shop = context;
        },
      }),
      definePlugin({
        name: 'orders',
        version: '1.0.0',
        activate(context) {
          context.eventBus.subscribe('order.placed', async (data, _next, meta) => {
            const order = data as { id: string };
            seen.placed.set(order.id, meta.traceId);
            await tick();
            context.logger.info({ order: order.id }, 'order accepted');
            // No trace passed: the handler's trace survives the await.
            await context.messageQueue.send('shipments', order);
          });
        },
      }),
      definePlugin({
        name: 'shipper',
        version: '1.0.0',
        async activate(context) {
          await context.rpcClient.waitForService('billing');
          context.messageQueue.receive('shipments', async (message) => {
            await tick();
            context.logger.info({ order: (message.data as { id: string }).id }, 'shipping');
            await context.rpcClient.call('billing', 'charge', [message.data]);
          });
        },
      }),
      definePlugin({
        name: 'monitor',
        version: '1.0.0',
        activate(context) {
          context.eventBus.subscribe('billing.charged', (data, _next, meta) => {
            const order = data as { id: string };
            seen.charged.set(order.id, meta.traceId);
          });
          context.eventBus.subscribe(
            'audit.logged',
            (_data, _next, meta) => void seen.durable.push(meta.traceId),
            { durable: true, group: 'audit' },
          );
          context.eventBus.subscribe('plugin.error', (error) => {
            seen.errors.push(error as PluginErrorEvent);
          });
        },
      }),
    ],
  });
  hosts = [frontHost, backHost];
  await backHost.start();
  await frontHost.start();
});

after(async () => {
  for (const host of hosts) await host.stop();
});

const linesOf = (lines: readonly LogLine[], order: string): LogLine[] =>
  lines.filter((line) => line['order'] === order);

test('one trace id from an event through a queue message and an RPC call, with linked spans', async () => {
  await shop.eventBus.publish('order.placed', { id: 'o1' });
  await until(() => seen.charged.has('o1'), 'billing.charged of o1');
  const traceId = seen.placed.get('o1')!;
  assert.match(traceId, /^[0-9a-f]{32}$/, 'tracing on: a W3C trace id');
  assert.equal(seen.inMethod.get('o1'), traceId, 'the RPC method runs on the caller trace');
  assert.equal(seen.charged.get('o1'), traceId, 'what the method publishes after an await');

  const logged = [...linesOf(front.lines, 'o1'), ...linesOf(back.lines, 'o1')];
  assert.deepEqual(logged.map((line) => line.msg).sort(), [
    'charged',
    'charging',
    'order accepted',
    'shipping',
  ]);
  for (const line of logged) assert.equal(line.traceId, traceId, `log line "${line.msg}"`);

  await until(
    () => spans().filter((s) => s.traceId === traceId).length >= 8,
    'the spans of the trace',
  );
  const mine = spans().filter((s) => s.traceId === traceId);
  const publish = only(mine, 'order.placed publish');
  const deliver = only(mine, 'order.placed process');
  const send = only(mine, 'shipments send');
  const consume = only(mine, 'shipments process');
  const client = only(
    mine.filter((s) => s.kind === SpanKind.CLIENT),
    'billing/charge',
  );
  const server = only(
    mine.filter((s) => s.kind === SpanKind.SERVER),
    'billing/charge',
  );
  const charged = only(mine, 'billing.charged publish');
  assert.equal(publish.parentSpanId, undefined, 'the event started the trace');
  assert.equal(deliver.parentSpanId, publish.spanId);
  assert.equal(send.parentSpanId, deliver.spanId);
  assert.equal(consume.parentSpanId, send.spanId);
  assert.equal(client.parentSpanId, consume.spanId);
  assert.equal(server.parentSpanId, client.spanId);
  assert.equal(charged.parentSpanId, server.spanId);
  assert.equal(publish.kind, SpanKind.PRODUCER);
  assert.equal(deliver.kind, SpanKind.CONSUMER);
  assert.equal(publish.attributes['messaging.destination.name'], 'order.placed');
  assert.equal(deliver.attributes['plugboard.plugin'], 'orders');
  assert.equal(send.attributes['messaging.operation.type'], 'send');
  assert.equal(consume.attributes['messaging.destination.name'], 'shipments');
  assert.deepEqual(
    [
      server.attributes['rpc.system'],
      server.attributes['rpc.service'],
      server.attributes['rpc.method'],
    ],
    ['plugboard', 'billing', 'charge'],
  );
});

test('plugin.error of a failure down the line carries the trace the event started', async () => {
  await shop.eventBus.publish('order.placed', { id: 'o2', fail: true });
  await until(() => seen.errors.some((e) => e.pluginId === 'shipper'), 'plugin.error');
  const traceId = seen.placed.get('o2')!;
  assert.notEqual(traceId, seen.placed.get('o1'), 'each event starts its own trace');
  const error = seen.errors.find((e) => e.pluginId === 'shipper')!;
  assert.equal(error.traceId, traceId);
  assert.equal(error.nodeId, 'front');
  assert.match(error.error, /card declined/);
  assert.equal(seen.inMethod.get('o2'), traceId);
  for (const line of linesOf(back.lines, 'o2')) assert.equal(line.traceId, traceId);
  await until(
    () => spans().some((s) => s.traceId === traceId && s.kind === SpanKind.SERVER),
    'the failed server span',
  );
  const server = spans().find((s) => s.traceId === traceId && s.kind === SpanKind.SERVER)!;
  assert.equal(server.error, true, 'the failed method ends its span as an error');
  const reported = front.lines.find(
    (l) => l.msg === 'plugin code failed' && l['plugin'] === 'shipper',
  );
  assert.equal(reported?.traceId, traceId, 'the failure log line');
});

test('a durable subscriber handles the event in a span of its publisher trace', async () => {
  await shop.eventBus.publish('audit.logged', { what: 'login' });
  await until(() => seen.durable.length === 1, 'the durable delivery');
  const traceId = seen.durable[0]!;
  await until(
    () => spans().some((s) => s.traceId === traceId && s.name === 'audit.logged process'),
    'the durable delivery span',
  );
  const mine = spans().filter((s) => s.traceId === traceId);
  const publish = only(mine, 'audit.logged publish');
  const deliver = only(mine, 'audit.logged process');
  assert.equal(deliver.parentSpanId, publish.spanId);
  assert.equal(deliver.attributes['messaging.consumer.group.name'], 'audit');
});
