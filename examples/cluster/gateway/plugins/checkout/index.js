// checkout-plugin: the gateway's order desk. RPC `checkout.place(order)` charges the order
// through `billing.charge`, which only worker processes provide (this process has no local
// provider, so calls go round-robin to the workers), then publishes `order.placed` for the
// fulfilment group. Plain subscriptions to `order.packing` and `order.fulfilled` follow each
// order to the end. RPC `checkout.status()` returns every order with who charged, who packed
// and who fulfilled it.
//
// It declares no dependency on the workers' plugins: they run in other processes, and a plugin's
// `dependencies` must be in the same host. It finds `billing` at run time instead.

/**
 * @typedef {{ items: string[], amount: number, currency: string }} OrderInput
 * @typedef {{ orderId: string, amount: number, currency: string, chargeId: string,
 *   chargedBy: string, packedBy: string[], fulfilledBy: string[] }} OrderRecord
 */

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const node = context.nodeId;
    const say = (/** @type {string} */ line) => console.log(`  [checkout@${node}]  ${line}`);
    const chargeTimeoutMs = Number(context.options.chargeTimeoutMs ?? 5000);
    /** @type {Map<string, OrderRecord>} */
    const orders = new Map();
    let sequence = 0;

    context.rpcServer.register('checkout', {
      /** @param {OrderInput} input */
      async place(input) {
        const orderId = `o-${++sequence}`;
        const charge = await context.rpcClient.callWithTimeout(
          'billing',
          'charge',
          [{ orderId, amount: input.amount, currency: input.currency }],
          chargeTimeoutMs,
        );
        orders.set(orderId, {
          orderId,
          amount: input.amount,
          currency: input.currency,
          chargeId: charge.chargeId,
          chargedBy: charge.nodeId,
          packedBy: [],
          fulfilledBy: [],
        });
        // The order for every process: in the shared cache (what a worker reads when it packs)
        // and in the `orders` change feed (which every worker's metrics follow, in order).
        const summary = { orderId, amount: input.amount, currency: input.currency };
        await context.cache.set(`order:${orderId}`, summary, { ttl: 600 });
        await context.dataSync.publish('orders', { type: 'create', id: orderId, data: summary });
        say(`${orderId} charged by ${charge.nodeId} (${charge.chargeId}), publishing order.placed`);
        // Stored in the fulfilment group's queue before publish resolves (durable subscription).
        await context.eventBus.publish('order.placed', {
          orderId,
          items: input.items,
          amount: input.amount,
          currency: input.currency,
          chargeId: charge.chargeId,
        });
        return { orderId, chargeId: charge.chargeId, chargedBy: charge.nodeId };
      },
      status: () =>
        [...orders.values()].map((o) => ({
          ...o,
          packedBy: [...o.packedBy],
          fulfilledBy: [...o.fulfilledBy],
        })),
    });

    // Durable delivery is at-least-once: an order whose worker died before acknowledging it is
    // delivered again, to a live worker, once its lease has lapsed.
    context.eventBus.subscribe('order.packing', ({ orderId, nodeId }) => {
      const order = orders.get(orderId);
      if (order === undefined) return; // an order of another gateway
      order.packedBy.push(nodeId);
      if (order.packedBy.length > 1)
        say(`${orderId} redelivered to ${nodeId} (${order.packedBy[0]} took it first)`);
    });

    context.eventBus.subscribe('order.fulfilled', ({ orderId, nodeId }) => {
      const order = orders.get(orderId);
      if (order === undefined) return;
      order.fulfilledBy.push(nodeId);
      say(
        order.fulfilledBy.length === 1
          ? `${orderId} fulfilled by ${nodeId}`
          : `${orderId} fulfilled again by ${nodeId} (a redelivery: at-least-once)`,
      );
    });
  },
};
