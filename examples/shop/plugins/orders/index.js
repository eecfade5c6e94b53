// orders-plugin: RPC `orders.place(order)` / `orders.list()`. Placing an order checks the user
// (users-plugin), announces `order.created`, charges through payments-plugin, then announces
// `order.paid` or `order.declined`. Users are looked up through a multi-level cache
// (`context.cache.tiered`): this process's local tier, then the shared cache, then users-plugin,
// which is asked once per user however many orders arrive at once. A paid order's items are taken from stock-plugin's ledger,
// each under the distributed lock `stock:<sku>`, passing the lock's fencing token with the write.
// It is also the second step of the `request.received` chain (the guide's "plugin B", which adds
// a timestamp).

/**
 * @typedef {{ userId: string, items: string[], amount: number, currency: string }} OrderInput
 * @typedef {OrderInput & { id: string, status: string, chargeId?: string, code?: string }} Order
 */

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [orders]     ${line}`);
    /** @type {Order[]} */
    const orders = [];
    // Local tier 60 s, shared tier 1 h; one load per key at a time across the cluster.
    const userCache = context.cache.tiered({
      load: (/** @type {string} */ key) =>
        context.rpcClient.callWithTimeout('users', 'get', [key.slice('user:'.length)], 1000),
      ttl: 3600,
      localTtl: 60,
    });

    // Chain step: after auth (priority 100), before the rest.
    context.eventBus.subscribe(
      'request.received',
      async (data, next) => {
        data.timestamp = Date.now();
        await next();
      },
      { priority: 50 },
    );

    context.rpcServer.register('orders', {
      /** @param {OrderInput} input */
      async place(input) {
        // A typed error from users.get (SHOP_USER_NOT_FOUND) would reach our caller unchanged
        // (the cache keeps no failure).
        const user = await userCache.get(`user:${input.userId}`);
        const order = { id: `o-${orders.length + 1}`, ...input, status: 'created' };
        orders.push(order);
        await context.eventBus.publish('order.created', { ...order });

        const charge = { orderId: order.id, amount: order.amount, currency: order.currency };
        try {
          const receipt = await context.rpcClient.call('payments', 'charge', [charge]);
          order.status = 'paid';
          order.chargeId = receipt.chargeId;
          const left = await Promise.all(order.items.map((item) => takeFromStock(context, item)));
          say(
            `${order.id} for ${user.name}: paid (${receipt.chargeId}), stock left ${left.join(', ')}`,
          );
          await context.eventBus.publish('order.paid', { ...order });
        } catch (error) {
          order.status = error.code === 'SHOP_PAYMENT_DECLINED' ? 'declined' : 'failed';
          order.code = error.code;
          say(`${order.id} for ${user.name}: ${order.status} [${error.code ?? error.name}]`);
          await context.eventBus.publish(`order.${order.status}`, {
            ...order,
            reason: error.message,
          });
          throw error; // e.g. PaymentDeclinedError (SHOP_PAYMENT_DECLINED): our caller gets it too
        }
        return { ...order };
      },
      list: () => orders.map((order) => ({ ...order })),
    });
  },
};

/**
 * Read, decrement and write back the stock of one item: a read-modify-write that must not
 * interleave with another writer's, so it runs under the lock of that sku, and the write carries
 * the lock's fencing token (the ledger refuses a token older than the last it accepted).
 * @param {import('plugboard').PluginContext} context
 * @param {string} item
 */
async function takeFromStock(context, item) {
  const sku = item.replace(/[^A-Za-z0-9]+/g, '-');
  const lock = await context.lock.acquire(`stock:${sku}`, { ttl: 5000, waitTimeout: 2000 });
  try {
    const level = await context.rpcClient.call('stock', 'level', [sku]);
    const write = { sku, level: level - 1, fencingToken: lock.fencingToken };
    await context.rpcClient.call('stock', 'write', [write]);
    return `${sku} ${level - 1}`;
  } finally {
    await lock.release();
  }
}
