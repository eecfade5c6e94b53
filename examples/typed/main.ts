/**
 * Run the typed example: `node --import tsx examples/typed/main.ts`
 * (in your own project: `import { createHost } from 'plugboard'`).
 */
import { pino } from 'pino';
import { createHost } from '../../src/index.js';
import { checkoutPlugin, restockPlugin, warehousePlugin } from './warehouse.js';

const host = await createHost({
  plugins: [warehousePlugin, restockPlugin, checkoutPlugin],
  // Warnings and errors only (the restock plugin warns when stock runs low).
  logger: pino({ level: process.env['PLUGBOARD_LOG_LEVEL'] ?? 'warn' }),
});
const { ok, active } = await host.start();
console.log(`typed example: ${active.join(', ')} ${ok ? 'all active' : 'NOT all active'}`);
await host.stop();
