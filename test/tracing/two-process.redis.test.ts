/**
 * Tracing across two processes on Redis: an event handler here calls an RPC method provided by a
 * host in a child process (fixtures/billing-node.ts). The trace id of the event arrives in the
 * method, in its log lines and in what it publishes (seen back here), and the child's spans carry
 * it as their OpenTelemetry trace id, the server span a child of this process's client span.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SpanKind } from '@opentelemetry/api';
import { createHost, definePlugin, type Host, type PluginContext } from '../../src/index.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import type { BillingNodeConfig } from './fixtures/billing-node.js';
import {
  captureLogs,
  only,
  registerInMemorySdk,
  until,
  type LogLine,
  type SpanRecord,
} from './support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/billing-node.ts', import.meta.url));
const spans = registerInMemorySdk();
const logs = captureLogs();
const namespace = uniqueNamespace('trace');

interface Report {
  readonly spans: SpanRecord[];
  readonly lines: LogLine[];
  readonly calls: Array<{ order: string; traceId: string | undefined }>;
}

let child!: ChildProcess;
let host!: Host;
let shop!: PluginContext;
const placed = new Map<string, string>();
const charged = new Map<string, string>();
const results = new Map<string, { traceId?: string }>();

/** Fork the billing node and wait until its host has started (bounded: 30 s on a loaded machine). */
async function startChild(config: BillingNodeConfig): Promise<ChildProcess> {
  const forked = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PB_TRACE_NODE: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      forked.kill('SIGKILL');
      reject(new Error('the billing node did not start within 30 s'));
    }, 30_000);
    forked.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    forked.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the billing node exited with ${code} while starting`));
    });
  });
  return forked;
}

function report(): Promise<Report> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no report within 10 s')), 10_000);
    child.once('message', (message: Report) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.send({ cmd: 'report' });
  });
}

before(async () => {
  child = await startChild({ redis: SHARED_REDIS_URL, namespace, nodeId: 'billing-node' });
  host = await createHost({
    nodeId: 'front-node',
    logger: logs.logger,
    backend: { redis: SHARED_REDIS_URL, namespace },
    plugins: [
      definePlugin({
        name: 'shop',
        version: '1.0.0',
        activate(context) {
          shop = context;
          context.eventBus.subscribe('billing.charged', (data, _next, meta) => {
            charged.set((data as { id: string }).id, meta.traceId);
          });
        },
      }),
      definePlugin({
        name: 'orders',
        version: '1.0.0',
        activate(context) {
          context.eventBus.subscribe('order.placed', async (data, _next, meta) => {
            const order = data as { id: string };
            placed.set(order.id, meta.traceId);
            context.logger.info({ order: order.id }, 'calling billing');
            const result = await context.rpcClient.call('billing', 'charge', [order]);
            results.set(order.id, result as { traceId?: string });
          });
        },
      }),
    ],
  });
  await host.start();
  await shop.rpcClient.waitForService('billing', { timeout: 15_000 });
});

after(async () => {
  await host?.stop();
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ cmd: 'stop' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    child.kill('SIGKILL');
  }
  await deleteNamespace(SHARED_REDIS_URL, namespace);
});

test('the trace id of an event reaches the RPC method on another process, its logs and spans', async () => {
  await shop.eventBus.publish('order.placed', { id: 'o1' });
  await until(() => results.has('o1') && charged.has('o1'), 'the call and billing.charged');
  const traceId = placed.get('o1')!;
  assert.match(traceId, /^[0-9a-f]{32}$/);
  assert.equal(results.get('o1')?.traceId, traceId, 'the method ran on the trace (after an await)');
  assert.equal(charged.get('o1'), traceId, 'what the method published came back on the trace');
  const calling = logs.lines.find((l) => l.msg === 'calling billing');
  assert.equal(calling?.traceId, traceId);

  const remote = await report();
  assert.deepEqual(remote.calls, [{ order: 'o1', traceId }]);
  const lines = remote.lines.filter((l) => l['order'] === 'o1');
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['charging', 'charged'],
  );
  for (const line of lines) assert.equal(line.traceId, traceId, `remote log line "${line.msg}"`);

  await until(
    () => spans().some((s) => s.kind === SpanKind.CLIENT && s.traceId === traceId),
    'the client span',
  );
  const client = only(
    spans().filter((s) => s.traceId === traceId && s.kind === SpanKind.CLIENT),
    'billing/charge',
  );
  const deliver = only(
    spans().filter((s) => s.traceId === traceId),
    'order.placed process',
  );
  assert.equal(client.parentSpanId, deliver.spanId);
  const mine = remote.spans.filter((s) => s.traceId === traceId);
  const server = only(
    mine.filter((s) => s.kind === SpanKind.SERVER),
    'billing/charge',
  );
  assert.equal(server.parentSpanId, client.spanId, 'linked across processes');
  assert.equal(server.attributes['rpc.service'], 'billing');
  const publish = only(mine, 'billing.charged publish');
  assert.equal(publish.parentSpanId, server.spanId);
  // And back: this process's delivery of billing.charged is a child of the remote publish span.
  await until(
    () => spans().some((s) => s.name === 'billing.charged process' && s.traceId === traceId),
    'the delivery span of billing.charged',
  );
  const back = only(
    spans().filter((s) => s.traceId === traceId),
    'billing.charged process',
  );
  assert.equal(back.parentSpanId, publish.spanId);
});
