// billing-plugin: RPC `billing.charge({ orderId, amount, currency })`. Each worker process
// registers the same service; a caller without a local provider (the gateway) sends its calls
// round-robin to the providers it discovers in the cluster, and moves on to another one when a
// provider's process is gone before the call reached it.

import { setTimeout as sleep } from 'node:timers/promises';

/** Thrown for a malformed charge; its `name`, `message` and `code` reach the caller. */
class InvalidChargeError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'InvalidChargeError';
    this.code = 'CLUSTER_BILLING_INVALID';
  }
}

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const node = context.nodeId;
    const say = (/** @type {string} */ line) => console.log(`  [billing@${node}]    ${line}`);
    const latencyMs = Number(context.options.latencyMs ?? 60);
    let charges = 0;

    context.rpcServer.register('billing', {
      /** @param {{ orderId: string, amount: number, currency: string }} charge */
      async charge(charge) {
        if (typeof charge?.orderId !== 'string' || !(charge.amount > 0)) {
          throw new InvalidChargeError('billing.charge needs { orderId, amount > 0, currency }.');
        }
        // Stands in for the payment provider's round trip.
        await sleep(latencyMs, undefined, { signal: context.signal });
        const chargeId = `ch-${node}-${++charges}`;
        say(`charged ${charge.orderId} ${money(charge.amount, charge.currency)} → ${chargeId}`);
        return { chargeId, orderId: charge.orderId, nodeId: node };
      },
    });
  },
};

/**
 * @param {number} amount
 * @param {string} currency
 */
function money(amount, currency) {
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(amount);
}
