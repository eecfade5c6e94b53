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
  options: { backend?: BackendOption; nodeId?: string; resilience?: ResilienceOptions } = {},
): Promise<{ host: Host; app: PluginContext }> {
  let app!: PluginContext;
  const host = await createHost({
    logger: silentLogger,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.nodeId === undefined ? {} : { nodeId: options.nodeId }),
    ...(options.resilience === undefined ? {} : { resilience: options.resilience }),
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
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
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
