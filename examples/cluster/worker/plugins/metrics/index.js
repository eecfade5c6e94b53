// metrics-plugin: plain subscriptions (no group), so every worker process receives every
// `order.placed` and `order.fulfilled` in the cluster (broadcast, at-most-once). Compare with
// fulfilment-plugin, whose group shares the same `order.placed` events between the workers.
// It prints its counts when the worker stops.

/** @type {WeakMap<object, { placed: number, fulfilled: number, fulfilledHere: number, feed: number }>} */
const countsOf = new WeakMap();

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const counts = { placed: 0, fulfilled: 0, fulfilledHere: 0, feed: 0 };
    countsOf.set(context, counts);
    context.eventBus.subscribe('order.placed', () => void counts.placed++);
    // The gateway's `orders` change feed, from its start, under a name of this node's own (each
    // worker follows the whole feed; a shared name would split it).
    context.dataSync.watch('orders', () => void counts.feed++, {
      name: `metrics-${context.nodeId}`,
      from: 'start',
    });
    context.eventBus.subscribe('order.fulfilled', (fulfilled) => {
      counts.fulfilled++;
      if (fulfilled.nodeId === context.nodeId) counts.fulfilledHere++;
    });
  },

  /** @param {import('plugboard').PluginContext} context */
  deactivate(context) {
    const counts = countsOf.get(context);
    if (counts === undefined) return;
    console.log(
      `  [metrics@${context.nodeId}]    saw ${counts.placed} orders placed and ` +
        `${counts.fulfilled} fulfilled in the cluster, ${counts.fulfilledHere} of them here; ` +
        `${counts.feed} changes in the orders feed`,
    );
  },
};
