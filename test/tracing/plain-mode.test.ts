/**
 * Tracing off (the default without an OpenTelemetry SDK): the trace is known synchronously, so
 * an RPC call made before the handler's first `await` carries it to the provider on another node
 * (which runs the method, logs and publishes on it); after an `await` it is passed explicitly
 * with `CallOptions.traceId`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import {
  createHost,
  currentTraceId,
  definePlugin,
  type Host,
  type PluginContext,
} from '../../src/index.js';
import { captureLogs, until } from './support.js';

const logs = captureLogs();
const inMethod = new Map<string, string | undefined>();
const published = new Map<string, string>();
let caller!: PluginContext;
let hosts: Host[] = [];

before(async () => {
  const network = new MemoryNetwork();
  const provider = await createHost({
    nodeId: 'provider',
    logger: logs.logger,
    backend: { memory: network },
    plugins: [
      definePlugin({
        name: 'billing',
        version: '1.0.0',
        activate(context) {
          context.rpcServer.register('billing', {
            charge(label: string) {
              inMethod.set(label, currentTraceId());
              context.logger.info({ label }, 'charging');
              return context.eventBus.publish('billing.charged', label);
            },
          });
        },
      }),
    ],
  });
  const front = await createHost({
    nodeId: 'front',
    logger: logs.logger,
    backend: { memory: network },
    plugins: [
      definePlugin({
        name: 'front',
        version: '1.0.0',
        activate(context) {
          caller = context;
          context.eventBus.subscribe('billing.charged', (label, _next, meta) => {
            published.set(label as string, meta.traceId);
          });
        },
      }),
    ],
  });
  hosts = [front, provider];
  await provider.start();
  await front.start();
  await caller.rpcClient.waitForService('billing');
});

after(async () => {
  for (const host of hosts) await host.stop();
});

test('a call made in an event handler before any await runs on the event trace remotely', async () => {
  let traceId = '';
  const calls: Array<Promise<unknown>> = [];
  const subscription = caller.eventBus.subscribe('order.placed', (_data, _next, meta) => {
    traceId = meta.traceId;
    calls.push(caller.rpcClient.call('billing', 'charge', ['sync']));
  });
  await caller.eventBus.publish('order.placed', {});
  await Promise.all(calls);
  subscription.unsubscribe();
  assert.ok(traceId.length > 0);
  assert.equal(inMethod.get('sync'), traceId);
  await until(() => published.has('sync'), 'billing.charged');
  assert.equal(published.get('sync'), traceId, 'the method published on the caller trace');
  const line = logs.lines.find((l) => l['label'] === 'sync' && l.msg === 'charging');
  assert.equal(line?.traceId, traceId, 'the method log line names the trace');
});

test('after an await the trace is passed with CallOptions.traceId (remote and local)', async () => {
  let traceId = '';
  let done!: Promise<unknown>;
  const subscription = caller.eventBus.subscribe('order.paid', (_data, _next, meta) => {
    traceId = meta.traceId;
    done = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      await caller.rpcClient.call('billing', 'charge', ['lost']);
      await caller.rpcClient.call('billing', 'charge', ['explicit'], { traceId: meta.traceId });
    })();
  });
  await caller.eventBus.publish('order.paid', {});
  await done;
  subscription.unsubscribe();
  assert.equal(inMethod.get('lost'), undefined, 'without tracing the trace ends at the await');
  assert.equal(inMethod.get('explicit'), traceId);
  // A local provider, called with an explicit trace.
  caller.rpcServer.register('local', { whoami: () => currentTraceId() });
  assert.equal(
    await caller.rpcClient.call('local', 'whoami', [], { traceId: 'trace-7' }),
    'trace-7',
  );
  assert.equal(await caller.rpcClient.call('local', 'whoami', []), undefined);
});

test('a malformed CallOptions.traceId is refused', async () => {
  await assert.rejects(
    caller.rpcClient.call('billing', 'charge', ['bad'], { traceId: '' }),
    (error: Error & { code?: string }) => error.code === 'PB_VALIDATION',
  );
  assert.equal(inMethod.has('bad'), false);
});
