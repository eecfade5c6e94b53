// fulfilment-plugin: packs every placed order. The subscription has a `group`, so each
// `order.placed` goes to one member of the group across every worker process, and is `durable`:
// the event is stored in the group's queue on Redis, handed to one worker under a lease, and
// acknowledged only when the handler returns. A worker that dies mid-order leaves the event
// leased; once the lease lapses another worker gets it again (at-least-once). Events published
// while no worker runs wait in the queue.

import { setTimeout as sleep } from 'node:timers/promises';

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const node = context.nodeId;
    const say = (/** @type {string} */ line) => console.log(`  [fulfilment@${node}] ${line}`);
    const packMs = Number(context.options.packMs ?? 500);

    context.eventBus.subscribe(
      'order.placed',
      async (order) => {
        // Tells the gateway who works on what, so it can see a redelivery.
        await context.eventBus.publish('order.packing', { orderId: order.orderId, nodeId: node });
        // The gateway put the order in the shared cache (Redis): any process reads it.
        const cached = await context.cache.get(`order:${order.orderId}`);
        const value =
          cached === undefined ? 'not in the cache' : `${cached.amount} ${cached.currency}`;
        say(`packing ${order.orderId} (${order.items.join(', ')}), ${value} per the shared cache`);
        // One packer per order at a time, cluster-wide: a redelivered order waits for the lock
        // (or for its lapse, when the worker holding it died).
        const lock = await context.lock.acquire(`packing:${order.orderId}`, {
          ttl: 5000,
          waitTimeout: 10_000,
        });
        try {
          // Stands in for the warehouse; longer than the gateway's pace, so while one worker
          // packs, the next order goes to the other one.
          await sleep(packMs, undefined, { signal: context.signal });
        } finally {
          await lock.release();
        }
        say(`packed ${order.orderId}, handing it to the courier`);
        await context.eventBus.publish('order.fulfilled', {
          orderId: order.orderId,
          nodeId: node,
        });
      },
      { group: 'fulfilment', durable: true },
    );
  },
};
