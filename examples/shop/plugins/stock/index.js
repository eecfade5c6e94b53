// stock-plugin: the stock ledger, a resource protected by distributed locks. Writers hold the
// lock `stock:<sku>` and pass its `fencingToken` with each write. The ledger remembers the
// highest token it accepted per sku and refuses an older one: a writer whose lock lapsed (a long
// pause, a lost network) cannot overwrite what the next holder wrote, even if it wakes up
// believing it still holds the lock.

class StaleLockTokenError extends Error {
  /**
   * @param {string} sku
   * @param {number} token
   * @param {number} last
   */
  constructor(sku, token, last) {
    super(
      `Refused a write to ${sku} with lock token ${token}: a newer holder (${last}) wrote since.`,
    );
    this.name = 'StaleLockTokenError';
    this.code = 'SHOP_STALE_LOCK_TOKEN';
  }
}

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [stock]      ${line}`);
    const { stock } = /** @type {{ stock: Record<string, number> }} */ (context.options);
    /** @type {Map<string, number>} sku → units in stock */
    const levels = new Map(Object.entries(stock));
    /** @type {Map<string, number>} sku → the highest fencing token accepted */
    const lastToken = new Map();

    context.rpcServer.register('stock', {
      /** @param {string} sku */
      level: (sku) => levels.get(sku) ?? 0,
      /**
       * Set the level of `sku`, fenced: refused unless `fencingToken` is at least the last one
       * accepted (the same holder may write several times under one lock).
       * @param {{ sku: string, level: number, fencingToken: number }} write
       */
      write({ sku, level, fencingToken }) {
        if (typeof fencingToken !== 'number')
          throw new TypeError('A stock write needs a fencingToken.');
        const last = lastToken.get(sku) ?? 0;
        if (fencingToken < last) {
          say(`refused a write to ${sku} with an old lock token`);
          throw new StaleLockTokenError(sku, fencingToken, last);
        }
        lastToken.set(sku, fencingToken);
        levels.set(sku, level);
        return level;
      },
    });
  },
};
