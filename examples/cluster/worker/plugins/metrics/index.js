// metrics-plugin: plain subscriptions (no group), so every worker process receives every
// `order.placed` and `order.fulfilled` in the cluster (broadcast, at-most-once). Compare with
// fulfilment-plugin, whose group shares the same `order.placed` events between the workers.
// It prints its counts when the worker stops.

/** @type {WeakMap<object, { placed: number, fulfilled: number, fulfilledHere: number }>} */
const countsOf = new WeakMap();

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const counts = { placed: 0, fulfilled: 0, fulfilledHere: 0 };
    countsOf.set(context, counts);
    context.eventBus.subscribe('order.placed', () => void counts.placed++);
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
        `${counts.fulfilled} fulfilled in the cluster, ${counts.fulfilledHere} of them here`,
    );
  },
};
