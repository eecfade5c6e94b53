// Capability check overhead on publish and call, trusted against capabilities on, in one
// process: alternating batches on one host (a trusted plugin and one with a `permissions` list
// publish to the same subscriber and call the same provider), median of the per-round ratios.
// Time is this process's CPU time (user + system), far less sensitive to machine load than
// comparing separate processes' ops/s.
// Usage: node bench/capabilities-ab.mjs [rounds=41] [ops=50000]   (needs `npm run build`)
import console from 'node:console';
import process from 'node:process';
import { startPlugboard } from './lib/plugboard.mjs';

const rounds = Number(process.argv[2] ?? 41);
const N = Number(process.argv[3] ?? 50_000);
const pb = await startPlugboard(
  ['trusted', 'guarded', 'consumer', 'provider'],
  { logger: false, parity: false },
  { guarded: ['events:publish:user.*', 'rpc:call:calculator'] },
);
let delivered = 0;
pb.ctx.consumer.eventBus.subscribe('user.created', (data) => void (delivered += data.n));
pb.ctx.provider.rpcServer.register('calculator', { add: (a, b) => a + b });
const PAYLOAD = { n: 1 };
const publish = (bus) => async (n) => {
  for (let i = 0; i < n; i++) await bus.publish('user.created', PAYLOAD);
};
const alternate = (bus) => async (n) => {
  for (let i = 0; i < n; i++) await bus.publish(i & 1 ? 'user.created' : 'user.updated', PAYLOAD);
};
const call = (rpc) => async (n) => {
  for (let i = 0; i < n; i++) await rpc.call('calculator', 'add', [2, 3]);
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function compare(label, off, on) {
  for (let i = 0; i < 5; i++) {
    await off(N);
    await on(N);
  }
  const ratios = [];
  const times = { off: [], on: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so drift in machine load hits both alike.
    const order = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    const took = {};
    for (const side of order) {
      const started = process.cpuUsage();
      await (side === 'off' ? off : on)(N);
      const used = process.cpuUsage(started);
      took[side] = (used.user + used.system) / 1000;
    }
    times.off.push(took.off);
    times.on.push(took.on);
    ratios.push(took.on / took.off);
  }
  const ns = (ms) => ((ms * 1e6) / N).toFixed(0);
  const ratio = median(ratios);
  console.log(
    `${label}: trusted ${ns(median(times.off))} ns/op, capabilities on ${ns(median(times.on))} ns/op, ` +
      `on ÷ off ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)}%)`,
  );
}

await compare(
  'publish, 1 sub, one event name',
  publish(pb.ctx.trusted.eventBus),
  publish(pb.ctx.guarded.eventBus),
);
await compare(
  'publish, two names alternating',
  alternate(pb.ctx.trusted.eventBus),
  alternate(pb.ctx.guarded.eventBus),
);
await compare(
  'rpc call, sync handler',
  call(pb.ctx.trusted.rpcClient),
  call(pb.ctx.guarded.rpcClient),
);
await pb.close();
if (delivered === 0) process.exitCode = 1;
