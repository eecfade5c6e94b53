// payments-plugin: payment providers announced in the service registry (the guide's
// 服务发现与注册) and one front door, RPC `payments.charge`, that discovers the provider for the
// order's currency and calls it by its `endpoint`. A declined charge is a typed error whose
// `name` and `code` reach every caller up the line.

class PaymentDeclinedError extends Error {
  /**
   * @param {string} message
   * @param {Record<string, unknown>} details
   */
  constructor(message, details) {
    super(message);
    this.name = 'PaymentDeclinedError';
    this.code = 'SHOP_PAYMENT_DECLINED';
    this.details = details;
  }
}

class UnsupportedCurrencyError extends Error {
  /** @param {string} currency */
  constructor(currency) {
    super(`No payment provider accepts ${currency}; pay in another currency.`);
    this.name = 'UnsupportedCurrencyError';
    this.code = 'SHOP_PAYMENT_UNSUPPORTED_CURRENCY';
  }
}

/**
 * @typedef {{ name: string, endpoint: string, supportedCurrencies: string[], limit: number }} Provider
 * @typedef {{ orderId: string, amount: number, currency: string }} Charge
 */

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [payments]   ${line}`);
    const providers = /** @type {Provider[]} */ (context.options.providers ?? []);
    let charges = 0;

    for (const provider of providers) {
      // Each provider is an RPC service named by its endpoint...
      context.rpcServer.register(provider.endpoint, {
        /** @param {Charge} charge */
        charge({ orderId, amount, currency }) {
          if (amount > provider.limit) {
            throw new PaymentDeclinedError(
              `${provider.name} declined ${money(amount, currency)} for ${orderId}: over its ${money(provider.limit, currency)} limit.`,
              { provider: provider.name, orderId, amount, currency, limit: provider.limit },
            );
          }
          return { chargeId: `ch-${++charges}`, provider: provider.name };
        },
      });
      // ...and an instance of `payment-service` in the registry, exactly as in the guide.
      context.serviceRegistry.register('payment-service', {
        name: provider.name,
        version: context.version,
        endpoint: provider.endpoint,
        metadata: { supportedCurrencies: provider.supportedCurrencies },
      });
    }

    context.rpcServer.register('payments', {
      /** @param {Charge} charge */
      async charge(charge) {
        const services = await context.serviceRegistry.discover('payment-service', {
          version: '^2.0.0',
        });
        const service = services.find((s) =>
          s.metadata.supportedCurrencies.includes(charge.currency),
        );
        if (service === undefined) throw new UnsupportedCurrencyError(charge.currency);
        try {
          const receipt = await context.rpcClient.call(service.endpoint, 'charge', [charge]);
          say(
            `${money(charge.amount, charge.currency)} → ${service.name} (discovered for ${charge.currency}): captured ${receipt.chargeId}`,
          );
          await context.eventBus.publish('payment.captured', { ...charge, ...receipt });
          return receipt;
        } catch (error) {
          const outcome = error.code === 'SHOP_PAYMENT_DECLINED' ? 'declined' : 'failed';
          say(
            `${money(charge.amount, charge.currency)} → ${service.name} (discovered for ${charge.currency}): ${outcome} [${error.code ?? error.name}]`,
          );
          await context.eventBus.publish(`payment.${outcome}`, {
            ...charge,
            provider: service.name,
            code: error.code,
          });
          throw error; // the caller gets the same name, message and code
        }
      },
    });
  },
};

/**
 * @param {number} amount
 * @param {string} currency
 */
function money(amount, currency) {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
}
