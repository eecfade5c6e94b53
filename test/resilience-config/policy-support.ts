/**
 * Hosts for the policies-by-configuration tests: a caller host whose `resilience` option is
 * under test, and a provider/consumer plugin whose failures the test switches on and off.
 */
import assert from 'node:assert/strict';
import type { BackendOption } from '../../src/backends/resolve.js';
import {
  createHost,
  definePlugin,
  type CircuitState,
  type CircuitStateChange,
  type Host,
  type PluginContext,
  type ResilienceOptions,
} from '../../src/index.js';
import { silentLogger } from '../support/runtime.js';

/** A plugin named `name` that hands over its context. */
export function probePlugin(name: string, take: (context: PluginContext) => void) {
  return definePlugin({ name, version: '1.0.0', activate: (context) => void take(context) });
}

/** A started host running one probe plugin `app`; its context. */
export async function appHost(
  options: {
    backend?: BackendOption;
    nodeId?: string;
    resilience?: ResilienceOptions;
    deactivateTimeout?: number;
  } = {},
): Promise<{ host: Host; app: PluginContext }> {
  let app!: PluginContext;
  const host = await createHost({
    logger: silentLogger,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.nodeId === undefined ? {} : { nodeId: options.nodeId }),
    ...(options.resilience === undefined ? {} : { resilience: options.resilience }),
    ...(options.deactivateTimeout === undefined
      ? {}
      : { deactivateTimeout: options.deactivateTimeout }),
    plugins: [probePlugin('app', (c) => (app = c))],
  });
  await host.start();
  return { host, app };
}

/**
 * The next change of breaker `name` (as `app` sees it) into `state`; rejects past `timeoutMs`.
 * (The bound's timer also keeps the process alive: a breaker's own timer does not.)
 */
export function nextState(
  app: PluginContext,
  name: string,
  state: CircuitState,
  timeoutMs = 10_000,
): Promise<CircuitStateChange> {
  const breaker = app.circuitBreakerFactory.get(name);
  if (breaker === undefined) return Promise.reject(new Error(`no breaker "${name}"`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`breaker "${name}" did not turn ${state} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = breaker.on(state, (change) => {
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}

/** Resolve once `check()` holds, polling on each macrotask; bounded. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A `billing` provider: `charge` fails while `down`, counting every call that reached it. */
export function billingProvider(context: PluginContext) {
  const state = { down: true, calls: 0 };
  const registration = context.rpcServer.register('billing', {
    charge(amount: number) {
      state.calls++;
      if (state.down) throw Object.assign(new Error('billing is down'), { code: 'BILLING_DOWN' });
      return { charged: amount };
    },
  });
  return { state, ready: registration.ready };
}

/** The breaker of `resilience.services.billing` in the RPC tests: opens after 4 failing calls. */
export const BILLING_POLICY: ResilienceOptions = {
  services: {
    billing: { breaker: { failureThreshold: 50, minimumCalls: 4, timeout: 300 } },
  },
};

/**
 * `caller`'s host has {@link BILLING_POLICY}; `bystander`'s host has none. Four failures open
 * `rpc:billing` on the caller's node: its next calls fail at once without reaching the provider,
 * while the bystander's calls still do; once billing recovers, the half-open probe closes it.
 */
export async function assertBillingBreaker(
  caller: PluginContext,
  bystander: PluginContext,
  provider: { down: boolean; calls: number },
): Promise<void> {
  const opened = nextState(caller, 'rpc:billing', 'open');
  for (let i = 0; i < 4; i++) {
    await assert.rejects(caller.rpcClient.call('billing', 'charge', [i]), { code: 'BILLING_DOWN' });
  }
  await opened;
  assert.equal(provider.calls, 4);
  await assert.rejects(caller.rpcClient.call('billing', 'charge', [5]), {
    name: 'CircuitOpenError',
    type: 'CircuitOpenError',
    code: 'PB_CIRCUIT_OPEN',
  });
  const proxy = caller.rpcClient.proxy('billing') as { charge(amount: number): Promise<unknown> };
  await assert.rejects(proxy.charge(6), { type: 'CircuitOpenError' });
  assert.equal(provider.calls, 4, 'an open circuit keeps calls from the provider');
  // Another host's plugins are not governed by this host's configuration.
  await assert.rejects(bystander.rpcClient.call('billing', 'charge', [7]), {
    code: 'BILLING_DOWN',
  });
  assert.equal(provider.calls, 5);

  provider.down = false;
  await nextState(caller, 'rpc:billing', 'half-open');
  const closed = nextState(caller, 'rpc:billing', 'closed');
  assert.deepEqual(await caller.rpcClient.call('billing', 'charge', [8]), { charged: 8 });
  await closed;
  assert.deepEqual(await caller.rpcClient.call('billing', 'charge', [9]), { charged: 9 });
}

/** `resilience.queues[queue]` of the queue tests: the breaker opens after 2 failed deliveries. */
export function queueBreakerPolicy(queue: string): ResilienceOptions {
  return {
    queues: { [queue]: { breaker: { failureThreshold: 50, minimumCalls: 2, timeout: 300 } } },
  };
}

interface Seen {
  readonly data: unknown;
  readonly attempt: number;
  /** The breaker's state when the handler started. */
  readonly state: CircuitState;
}

/**
 * On a host with {@link queueBreakerPolicy}: two failed deliveries open `queue:<queue>`; what is
 * sent meanwhile is not delivered while it is open, and once the consumer recovers every such
 * message is handled on its first delivery (no attempt spent, nothing dead-lettered), also when
 * the half-open breaker refuses deliveries beyond its one probe (three handlers at once).
 */
export async function assertQueueBreaker(app: PluginContext, queue: string): Promise<void> {
  const name = `queue:${queue}`;
  const breaker = app.circuitBreakerFactory.get(name)!;
  const health = { down: true };
  const seen: Seen[] = [];
  const opened = nextState(app, name, 'open');
  app.messageQueue.receive(
    queue,
    async (message) => {
      seen.push({ data: message.data, attempt: message.attempt, state: breaker.state });
      // Async, so the half-open probe is still running when the next deliveries are tried.
      await new Promise((resolve) => setImmediate(resolve));
      if (health.down) throw new Error('smtp is down');
    },
    { concurrency: 3 },
  );
  const failed = [await app.messageQueue.send(queue, 'a'), await app.messageQueue.send(queue, 'b')];
  await opened;
  const later = ['c', 'd', 'e', 'f', 'g'];
  for (const data of later) await app.messageQueue.send(queue, data);
  health.down = false;
  await until(() => later.every((d) => seen.some((s) => s.data === d)), 'the held messages');
  for (const data of later) {
    const delivery = seen.filter((s) => s.data === data);
    assert.equal(delivery.length, 1, `${data} handled once`);
    assert.equal(delivery[0]!.attempt, 1, `${data} kept its first delivery`);
    assert.notEqual(delivery[0]!.state, 'open', `${data} not run while open`);
  }
  const dead = await app.messageQueue.deadLetters(queue);
  assert.deepEqual(dead.map((d) => d.id).sort(), [...failed].sort(), 'only the real failures');
  assert.equal(breaker.state, 'closed');
}
