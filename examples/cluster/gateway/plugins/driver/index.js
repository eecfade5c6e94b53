// driver-plugin: the demo driver of the gateway process. `activate` starts the scenario in the
// background (the host tracks it, and `plugboard start --once` waits for it) and returns:
//   1. wait until `billing` has providers on `workers` different nodes (rpcClient.subscribeService),
//   2. place the orders from its options one every `intervalMs` through `checkout.place`,
//   3. wait until every order is fulfilled (or `fulfilmentTimeoutMs`), print a summary and
//      publish `cluster.scenario.completed` with it.
// A scenario that fails makes `deactivate` throw, so the process exits with 1. Stopping the
// gateway before the scenario is over (Ctrl+C) interrupts it, which counts as a failure too.

/**
 * @typedef {{ items: string[], amount: number, currency: string }} OrderInput
 * @typedef {{ workers: number, waitForWorkersMs: number, intervalMs: number,
 *   fulfilmentTimeoutMs: number, orders: OrderInput[] }} DriverOptions
 * @typedef {{ orderId: string, chargedBy: string, packedBy: string[], fulfilledBy: string[] }} OrderStatus
 */

/** @type {WeakMap<object, { scenario: Promise<unknown>, stop: AbortController }>} */
const running = new WeakMap();

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const stop = new AbortController();
    const scenario = runScenario(context, stop.signal);
    running.set(context, { scenario, stop });
    context.background.run('scenario', () => scenario);
  },

  /**
   * `--once` stops the host once the scenario is over. Stopping it earlier interrupts the
   * scenario. A failed or interrupted scenario fails the stop, so the CLI exits with 1.
   * @param {import('plugboard').PluginContext} context
   */
  async deactivate(context) {
    const run = running.get(context);
    run?.stop.abort(new Error('The gateway was stopped before the scenario ended.'));
    await run?.scenario;
  },
};

/**
 * @param {import('plugboard').PluginContext} context
 * @param {AbortSignal} signal aborted when the plugin is stopped
 */
async function runScenario(context, signal) {
  const node = context.nodeId;
  const say = (/** @type {string} */ line) => console.log(`  [driver@${node}]    ${line}`);
  const options = /** @type {DriverOptions} */ (context.options);

  say(`waiting for billing on ${options.workers} worker nodes`);
  const providers = await waitForProviders(
    context,
    'billing',
    options.workers,
    options.waitForWorkersMs,
    signal,
  );
  say(
    `billing is available on ${providers.join(', ')}; placing ${options.orders.length} orders, ` +
      `one every ${options.intervalMs} ms`,
  );

  let failed = 0;
  for (const [index, order] of options.orders.entries()) {
    if (index > 0) await pause(context, options.intervalMs, signal);
    try {
      await context.rpcClient.call('checkout', 'place', [order]);
    } catch (error) {
      failed++;
      say(`order ${index + 1} failed: ${error.name} [${error.code}]: ${error.message}`);
    }
  }

  /** @type {OrderStatus[]} */
  let orders = await context.rpcClient.call('checkout', 'status');
  const deadline = Date.now() + options.fulfilmentTimeoutMs;
  while (orders.some((o) => o.fulfilledBy.length === 0) && Date.now() < deadline) {
    await pause(context, 100, signal);
    orders = await context.rpcClient.call('checkout', 'status');
  }

  const charged = tally(orders.map((o) => o.chargedBy));
  const fulfilled = tally(orders.flatMap((o) => o.fulfilledBy));
  const unfulfilled = orders.filter((o) => o.fulfilledBy.length === 0).map((o) => o.orderId);
  const redelivered = orders.filter((o) => o.packedBy.length > 1).map((o) => o.orderId);
  const summary = {
    placed: orders.length,
    failed,
    chargedBy: charged,
    fulfilledBy: fulfilled,
    unfulfilled,
    redelivered,
  };
  say(
    `summary: ${orders.length} orders placed, ${failed} failed; charged by ${describe(charged)}; ` +
      `fulfilled by ${describe(fulfilled)}; ${redelivered.length} redelivered` +
      `${redelivered.length > 0 ? ` (${redelivered.join(', ')})` : ''}, ${unfulfilled.length} unfulfilled`,
  );
  await context.eventBus.publish('cluster.scenario.completed', summary);
  if (failed > 0 || unfulfilled.length > 0 || orders.length !== options.orders.length) {
    throw new Error(
      `The scenario did not complete: ${failed} orders failed, ` +
        `${unfulfilled.length} not fulfilled within ${options.fulfilmentTimeoutMs} ms` +
        `${unfulfilled.length > 0 ? ` (${unfulfilled.join(', ')})` : ''}.`,
    );
  }
  return summary;
}

/**
 * Resolve with the node ids once `service` has providers on at least `count` nodes; after `ms`,
 * settle for the nodes there are (reject if there are none).
 * @param {import('plugboard').PluginContext} context
 * @param {string} service
 * @param {number} count
 * @param {number} ms
 * @param {AbortSignal} signal
 * @returns {Promise<string[]>}
 */
function waitForProviders(context, service, count, ms, signal) {
  return new Promise((resolve, reject) => {
    /** @type {string[]} */
    let nodes = [];
    let settled = false;
    /** @type {import('plugboard').ServiceWatch | undefined} */
    let watch;
    const settle = (/** @type {() => void} */ outcome) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      watch?.unsubscribe();
      signal.removeEventListener('abort', stopped);
      outcome();
    };
    const stopped = () => settle(() => reject(signal.reason));
    signal.addEventListener('abort', stopped, { once: true });
    const timer = context.timers.setTimeout(() => {
      if (nodes.length > 0) settle(() => resolve(nodes));
      else
        settle(() =>
          reject(new Error(`No "${service}" provider within ${ms} ms; start a worker process.`)),
        );
    }, ms);
    // The callback runs right away with the current status, then on every change.
    watch = context.rpcClient.subscribeService(service, (status) => {
      nodes = [...new Set(status.instances.map((i) => i.nodeId))].sort();
      if (nodes.length >= count) settle(() => resolve(nodes));
    });
    if (settled) watch.unsubscribe();
  });
}

/**
 * Sleep `ms` on a plugin timer; reject early when `signal` aborts.
 * @param {import('plugboard').PluginContext} context
 * @param {number} ms
 * @param {AbortSignal} signal
 */
function pause(context, ms, signal) {
  return new Promise((resolve, reject) => {
    const stopped = () => {
      timer.cancel();
      reject(signal.reason);
    };
    const timer = context.timers.setTimeout(() => {
      signal.removeEventListener('abort', stopped);
      resolve(undefined);
    }, ms);
    if (signal.aborted) stopped();
    else signal.addEventListener('abort', stopped, { once: true });
  });
}

/** @param {string[]} names */
function tally(names) {
  /** @type {Record<string, number>} */
  const counts = {};
  for (const name of names.toSorted()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** @param {Record<string, number>} counts */
function describe(counts) {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'nobody' : entries.map(([n, c]) => `${n} ×${c}`).join(', ');
}
