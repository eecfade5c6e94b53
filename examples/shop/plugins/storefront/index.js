// storefront-plugin: the demo driver. It depends on every other plugin, so it starts last; its
// `activate` only starts the scenario in the background (the host tracks it) and returns. The
// scenario signs a customer up, sends one request through the `request.received` chain, places
// the orders from its options (the second one is declined), shows a stalled writer's late stock
// write refused by its old lock token (fencing), and prints a summary. It ends by
// publishing `shop.scenario.completed` with that summary.

/**
 * @typedef {{ items: string[], amount: number, currency: string }} OrderInput
 * @typedef {{ customer: { name: string, email: string }, orders: OrderInput[] }} ScenarioOptions
 */

/** @type {WeakMap<object, Promise<unknown>>} the running scenario of each context */
const scenarios = new WeakMap();

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    // Settles when the scenario ends, however it ends: a failure is the host's to report (as
    // `plugin.error`), because the scenario runs as a background task.
    let ended = () => {};
    scenarios.set(context, new Promise((resolve) => (ended = () => resolve(undefined))));
    context.background.run('scenario', () => runScenario(context).finally(ended));
  },

  /**
   * `plugboard start --once` stops the host right after start: wait here for the scenario, so
   * it still runs while every plugin it talks to is up (they are stopped after this one).
   * @param {import('plugboard').PluginContext} context
   */
  async deactivate(context) {
    await scenarios.get(context);
  },
};

/** @param {import('plugboard').PluginContext} context */
async function runScenario(context) {
  const say = (/** @type {string} */ line) => console.log(`  [storefront] ${line}`);
  const { customer, orders } = /** @type {ScenarioOptions} */ (context.options);

  // Dependencies are active before this plugin starts; waitForService is how a plugin without
  // that guarantee waits for a service (bounded: it rejects with a TimeoutError naming it).
  await context.rpcClient.waitForService('orders', { timeout: 5000 });
  say(`scenario: ${customer.name} signs up and places ${orders.length} orders`);

  // Listen before acting, so the events cannot be missed.
  const emailSent = (/** @type {string} */ kind) => {
    const sent = context.eventBus.waitFor('email.sent', {
      timeout: 3000,
      filter: (mail) => mail.kind === kind,
    });
    sent.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    return sent;
  };
  const welcomeSent = emailSent('welcome');
  const tipsSent = emailSent('tips');
  // The paid order is packed (two-phase commit) and shipped (saga) by fulfilment-plugin.
  const shipped = context.eventBus.waitFor('order.shipped', { timeout: 5000 });
  shipped.catch(() => {});

  // A writer that will stall: it takes the keyboard's stock lock now and writes only after the
  // orders (as if paused past its TTL). Its token is older than the one orders-plugin writes with.
  const stalled = await context.lock.acquire('stock:mechanical-keyboard', { ttl: 1000 });
  await stalled.release();

  const users = context.rpcClient.proxy('users');
  const { user, token } = await users.create(customer);

  // The browser's request goes through the chain: auth adds userId, orders adds a timestamp.
  const request = await context.pluginChain.execute('request.received', {
    method: 'POST',
    url: '/api/orders',
    token,
  });
  say(
    `request chain done: userId=${request.userId}, timestamp=${new Date(request.timestamp).toISOString()}`,
  );

  for (const order of orders) {
    try {
      const placed = await context.rpcClient.call('orders', 'place', [
        { userId: request.userId, ...order },
      ]);
      say(`order ${placed.id} is ${placed.status}`);
    } catch (error) {
      // The payment provider's error crossed two RPC hops with its name and code intact.
      say(`order refused with ${error.name} [${error.code}]: ${error.message}`);
    }
  }

  // The stalled writer wakes up and writes with its old token: the ledger refuses it (fencing).
  try {
    const write = { sku: 'mechanical-keyboard', level: 99, fencingToken: stalled.fencingToken };
    await context.rpcClient.call('stock', 'write', [write]);
    say('a stalled writer overwrote the stock (fencing failed)');
  } catch (error) {
    say(`a stalled writer's late stock write is refused: ${error.name} [${error.code}]`);
  }

  // This plugin's permissions do not cover the users' cache: the host refuses (and audits it).
  try {
    await context.cache.get(`user:${user.id}`);
    say('read the user cache (permissions not enforced?)');
  } catch (error) {
    say(`may not read the user cache: ${error.name} [${error.code}], audited by the host`);
  }

  // Who may track the paid order: its owner yes, anyone else no (the permission service).
  const {
    data: { orderId },
  } = await shipped;
  const own = await context.rpcClient.call('fulfilment', 'track', [orderId, user.id]);
  const other = await context.rpcClient.call('fulfilment', 'track', [orderId, 'u-999']);
  say(
    `tracking ${orderId}: ${user.id} ${own.granted ? `sees "${own.shipment}"` : 'refused'}, ` +
      `u-999 ${other.granted ? 'sees it too' : 'refused'} (the permission service)`,
  );

  // The newsletter's undeliverable address ends as a dead letter (retried once first).
  let newsletter = await context.rpcClient.call('newsletter', 'stats');
  for (let i = 0; i < 100 && newsletter.dead === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    newsletter = await context.rpcClient.call('newsletter', 'stats');
  }

  // The welcome email went through the queue; the tips email was delayed by the queue.
  await Promise.all([welcomeSent, tipsSent]);
  const [placed, outbox, audit, shipments] = await Promise.all([
    context.rpcClient.call('orders', 'list'),
    context.rpcClient.call('email', 'outbox'),
    context.rpcClient.call('audit', 'report'),
    context.rpcClient.call('fulfilment', 'shipments'),
  ]);
  const summary = {
    user: user.id,
    orders: placed.map((o) => ({ id: o.id, status: o.status, code: o.code })),
    paid: placed.filter((o) => o.status === 'paid').length,
    declined: placed.filter((o) => o.status === 'declined').length,
    welcomeEmails: outbox.filter((mail) => mail.to === user.email && mail.kind === 'welcome')
      .length,
    tipsEmails: outbox.filter((mail) => mail.to === user.email && mail.kind === 'tips').length,
    eventsAudited: audit.total,
    userChanges: audit.userChanges.length,
    auditBatches: audit.batches,
    pluginErrors: audit.errors.length,
    shipped: shipments.map((s) => ({ orderId: s.orderId, carrier: s.carrier })),
    deadLetters: newsletter.dead,
    auditLogOk: audit.auditLog.ok,
    auditLogEntries: audit.auditLog.checked,
    denials: audit.auditLog.denials.length,
  };
  say(
    `summary: ${count(summary.orders.length, 'order')} (${summary.paid} paid, ${summary.declined} declined), ` +
      `${count(summary.welcomeEmails, 'welcome email')}, ${count(summary.tipsEmails, 'tips email')}, ` +
      `audit saw ${count(summary.eventsAudited, 'event')} (logged in ${count(summary.auditBatches, 'batch', 'batches')}), ` +
      `${count(summary.userChanges, 'change')} in the users feed ` +
      `and ${count(summary.pluginErrors, 'plugin error')}; ` +
      `${count(summary.shipped.length, 'order')} shipped, ` +
      `${count(summary.deadLetters, 'dead letter')} in newsletter.deliver, ` +
      `audit log ${summary.auditLogOk ? 'verified' : 'BROKEN'} (${count(summary.auditLogEntries, 'entry', 'entries')}, ${count(summary.denials, 'denial')})`,
  );
  await context.eventBus.publish('shop.scenario.completed', summary);
  return summary;
}

/**
 * @param {number} n
 * @param {string} noun
 * @param {string} [plural]
 */
function count(n, noun, plural = `${noun}s`) {
  return `${n} ${n === 1 ? noun : plural}`;
}
