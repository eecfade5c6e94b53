/**
 * Typed contracts in a small TypeScript application: the events and services are declared once
 * (declaration merging), and from then on `publish`, `subscribe`, `register`, `call` and `proxy`
 * are checked by the compiler. `npm run typecheck` checks this folder; run it with
 * `node --import tsx examples/typed/main.ts`.
 *
 * In your own project, import from the package and merge into it:
 *
 *   import { definePlugin } from 'plugboard';
 *   declare module 'plugboard' { interface PlugboardEvents { ... } }
 *
 * Inside this repository the example imports the source instead, so it is checked without a
 * build. (Declarations merge into one program-wide map, so the names here are ones no test uses.)
 */
import { definePlugin, type PluginContext } from '../../src/index.js';

declare module '../../src/index.js' {
  interface PlugboardEvents {
    'warehouse.stock.reserved': { sku: string; quantity: number; left: number };
    'warehouse.stock.low': { sku: string; left: number };
  }
  interface PlugboardServices {
    warehouse: {
      reserve(sku: string, quantity: number): { left: number };
      level(sku: string): number;
    };
  }
}

/** Thrown by `warehouse.reserve`; its `name` and `code` reach the caller across RPC. */
export class OutOfStockError extends Error {
  readonly code = 'WAREHOUSE_OUT_OF_STOCK';
  constructor(sku: string, wanted: number, left: number) {
    super(`Only ${left} of "${sku}" left, ${wanted} wanted.`);
    this.name = 'OutOfStockError';
  }
}

export const warehousePlugin = definePlugin({
  name: 'warehouse-plugin',
  version: '1.0.0',
  permissions: ['rpc:register:warehouse', 'events:publish:warehouse.stock.*'],
  options: { stock: { keyboard: 3, 'tea-set': 1 }, lowWater: 2 },
  activate(context) {
    const stock = new Map(Object.entries(context.options['stock'] as Record<string, number>));
    const lowWater = context.options['lowWater'] as number;

    // Every declared method must be implemented, with the declared signature (sync or async).
    context.rpcServer.register('warehouse', {
      async reserve(sku, quantity) {
        const left = stock.get(sku) ?? 0;
        if (quantity > left) throw new OutOfStockError(sku, quantity, left);
        stock.set(sku, left - quantity);
        await context.eventBus.publish('warehouse.stock.reserved', {
          sku,
          quantity,
          left: left - quantity,
        });
        if (left - quantity < lowWater) {
          await context.eventBus.publish('warehouse.stock.low', { sku, left: left - quantity });
        }
        return { left: left - quantity };
      },
      level: (sku) => stock.get(sku) ?? 0,
    });
  },
});

export const restockPlugin = definePlugin({
  name: 'restock-plugin',
  version: '1.0.0',
  dependencies: { 'warehouse-plugin': '^1.0.0' },
  permissions: ['events:subscribe:warehouse.stock.low'],
  activate(context) {
    // `sku` and `left` are typed from the declaration above.
    context.eventBus.subscribe('warehouse.stock.low', ({ sku, left }) => {
      context.logger.warn({ sku, left }, `stock of ${sku} is low (${left} left): reorder`);
    });
  },
});

export const checkoutPlugin = definePlugin({
  name: 'checkout-plugin',
  version: '1.0.0',
  dependencies: { 'warehouse-plugin': '^1.0.0', 'restock-plugin': '^1.0.0' },
  permissions: ['rpc:call:warehouse'],
  async activate(context) {
    // A typed proxy: reserve(sku: string, quantity: number) => Promise<{ left: number }>.
    const warehouse = context.rpcClient.proxy('warehouse');
    const { left } = await warehouse.reserve('keyboard', 2);
    const level: number = await context.rpcClient.call('warehouse', 'level', ['keyboard']);
    context.logger.info({ left, level }, 'reserved two keyboards');
  },
});

/** Never called: each line is a compile error, proven by its `@ts-expect-error` directive. */
export async function misuseThatDoesNotCompile(context: PluginContext): Promise<void> {
  // @ts-expect-error the quantity must be a number
  await context.rpcClient.proxy('warehouse').reserve('keyboard', 'two');
  // @ts-expect-error `restock` is not a method of the declared service
  await context.rpcClient.call('warehouse', 'restock', ['keyboard']);
  // @ts-expect-error the payload of a declared event is checked (`left` is missing)
  await context.eventBus.publish('warehouse.stock.low', { sku: 'keyboard' });
  // @ts-expect-error an implementation must provide every declared method
  context.rpcServer.register('warehouse', { level: () => 0 });
}
