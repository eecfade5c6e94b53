// fulfilment-plugin: ships each paid order.
//
// 1. A two-phase commit reserves a parcel slot: the named transaction resource `parcels` (which
//    this plugin registers; any node could) and a packing list in this process both prepare,
//    then both commit, or both roll back.
// 2. A saga runs the steps that cannot hold anything while others prepare: print the label, book
//    a courier, announce `order.shipped`. A failed step undoes the ones before it.
// 3. The courier's API is behind a circuit breaker with retries and a fallback: the demo courier
//    is down for its first calls (`courierOutageCalls`), the breaker opens, and the parcel goes
//    by postal service instead of waiting on a dead API.
// 4. The packing slip (who gets what) is sealed with the host's key `shop-data` (AES-256-GCM):
//    the plugin names the key, the host holds it (PLUGBOARD_KEY_SHOP_DATA).
// 5. `fulfilment.track(orderId, actorId)` asks the permission service whether that actor may
//    track that order: everyone may track their own orders (a rule with an ownership condition).

/**
 * @typedef {{ id: string, userId: string, items: string[] }} PaidOrder
 * @typedef {{ orderId: string, label: string, carrier: string, slip: string }} Shipment
 */

class CourierUnavailableError extends Error {
  name = 'CourierUnavailableError';
  code = 'SHOP_COURIER_UNAVAILABLE';
}

export default {
  /** @param {import('plugboard').PluginContext} context */
  async activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [fulfilment] ${line}`);
    const { parcelSlots, courierOutageCalls, keyId } =
      /** @type {{ parcelSlots: number, courierOutageCalls: number, keyId: string }} */ (
        context.options
      );
    /** @type {Map<string, Shipment>} */
    const shipments = new Map();
    /** @type {Map<string, PaidOrder>} */
    const owners = new Map();

    // The parcel slots, a named transaction resource. What prepare holds is kept by
    // transaction id, so commit and rollback are idempotent.
    let freeSlots = parcelSlots;
    const held = new Map();
    await context.transactionManager.registerResource('parcels', {
      prepare(work, { transactionId }) {
        if (held.has(transactionId)) return { status: 'prepared' };
        if (freeSlots < 1) return { status: 'refused', reason: 'no parcel slot free' };
        freeSlots--;
        held.set(transactionId, work);
        return { status: 'prepared' };
      },
      commit(_work, { transactionId }) {
        held.delete(transactionId);
      },
      rollback(_work, { transactionId }) {
        if (held.delete(transactionId)) freeSlots++;
      },
    }).ready;

    // The courier: down for its first calls. The breaker opens after 2 calls at >= 50 % failures
    // and turns further calls away at once; after 1 s it lets a probe through.
    let courierCalls = 0;
    const courierApi = async (/** @type {string} */ orderId) => {
      courierCalls++;
      if (courierCalls <= courierOutageCalls)
        throw new CourierUnavailableError('courier API: 503 Service Unavailable');
      return `courier (tracking TRK-${orderId})`;
    };
    const breaker = context.circuitBreakerFactory.create('courier', {
      failureThreshold: 50,
      minimumCalls: 2,
      timeout: 1000,
      successThreshold: 1,
    });
    breaker.on('stateChange', (change) => say(`breaker "courier": ${change.from} → ${change.to}`));
    const courier = context.circuitBreakerFactory.policy(
      { breaker: 'courier', retry: { maxAttempts: 3, delay: 10 }, timeout: 2000 },
      () => 'postal service (courier unavailable)',
    );

    // The key is the host's: without it, slips are kept unsealed (and the shop says so once).
    const sealing = await context.encryptionService.encrypt('probe', 'AES-256-GCM', { keyId }).then(
      () => true,
      (error) => {
        say(`no key "${keyId}" (${error.code}): packing slips stay unsealed; see the README`);
        return false;
      },
    );
    /** @param {string} orderId @param {unknown} value */
    const seal = (orderId, value) =>
      sealing
        ? context.encryptionService.encrypt(value, 'AES-256-GCM', { keyId, aad: orderId })
        : JSON.stringify(value);
    /** @param {string} orderId @param {string} slip */
    const open = (orderId, slip) =>
      sealing
        ? context.encryptionService.decrypt(slip, 'AES-256-GCM', { keyId, aad: orderId })
        : JSON.parse(slip);

    // Everyone may track the orders that are their own.
    await context.permissionService.grant('*', 'order:track', { userId: '${actor.id}' });

    context.eventBus.subscribe(
      'order.paid',
      async (/** @type {PaidOrder} */ order) => {
        owners.set(order.id, order);
        // 1. Two-phase commit: the parcel slot (a named resource) and the packing list.
        const packingList = [];
        const transaction = await context.transactionManager.begin({
          timeout: 2000,
          label: `pack ${order.id}`,
        });
        try {
          transaction.enlist('parcels', { orderId: order.id });
          transaction.enlist({
            name: 'packing-list',
            prepare: () => order.items.length > 0,
            commit: () => void packingList.push(...order.items),
            rollback: () => undefined,
          });
          await transaction.commit();
        } catch (error) {
          await transaction.rollback();
          say(`${order.id} not packed: ${error.message}`);
          return;
        }
        say(
          `${order.id} packed (${packingList.join(', ')}): parcel slot reserved by two-phase commit`,
        );

        // 4. The packing slip, sealed: only a holder of the key reads who gets what.
        const slip = await seal(order.id, {
          orderId: order.id,
          userId: order.userId,
          items: packingList,
        });

        // 2. The saga: label, courier, notice; a failure undoes the finished steps.
        const [label, carrier] = await context.transactionManager.runSaga(
          'ship-order',
          [
            {
              name: 'label',
              run: () => `LBL-${order.id}`,
              compensate: () => say(`label for ${order.id} voided`),
            },
            // 3. The courier through breaker, retry and fallback.
            { name: 'courier', run: () => courier.execute(() => courierApi(order.id)) },
            {
              name: 'notify',
              run: () => context.eventBus.publish('order.shipped', { orderId: order.id }),
            },
          ],
          order,
        );
        shipments.set(order.id, { orderId: order.id, label, carrier, slip });
        say(
          `${order.id} shipped by ${carrier}, label ${label}, slip ${sealing ? `sealed (${slip.slice(0, 12)}…)` : 'unsealed'}`,
        );
      },
      { group: 'fulfilment' },
    );

    context.rpcServer.register('fulfilment', {
      /** Shipments, with each packing slip opened again (the key never leaves the host). */
      async shipments() {
        return Promise.all(
          [...shipments.values()].map(async (shipment) => ({
            ...shipment,
            opened: await open(shipment.orderId, shipment.slip),
          })),
        );
      },
      /**
       * Where an order is, for an actor allowed to track it.
       * @param {string} orderId
       * @param {string} actorId
       */
      async track(orderId, actorId) {
        const order = owners.get(orderId);
        const decision = await context.permissionService.check(actorId, 'order:track', {
          userId: order?.userId,
        });
        if (!decision.granted) return { granted: false, reason: decision.reason };
        return { granted: true, shipment: shipments.get(orderId)?.carrier ?? 'not shipped yet' };
      },
      freeSlots: () => freeSlots,
    });
  },
};
