// Overhead of metrics on the hot paths: publish (1 sync subscriber) and a local RPC call, on two
// hosts in one process, one with metrics (the default) and one with `metrics: false`, measured
// in alternating rounds so both see the same machine load. Reports the median of the rounds.
// Usage: npm run build && node bench/metrics-overhead.mjs [rounds]
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { startPlugboard } from './lib/plugboard.mjs';

const ROUNDS = Number(process.argv[2] ?? 15);
const OPS = 200_000;

async function host(metrics) {
  const pb = await startPlugboard(['producer', 'consumer'], {
    parity: false,
    metrics,
    logger: false,
  });
  let seen = 0;
  pb.ctx.consumer.eventBus.subscribe('user.created', () => void seen++);
  pb.ctx.consumer.rpcServer.register('math', { add: (a, b) => a + b });
  const bus = pb.ctx.producer.eventBus;
  const rpc = pb.ctx.producer.rpcClient;
  return {
    publish: async () => {
      for (let i = 0; i < OPS; i++) await bus.publish('user.created', i);
    },
    call: async () => {
      for (let i = 0; i < OPS; i++) await rpc.call('math', 'add', [i, 1]);
    },
    close: pb.close,
  };
}

async function rate(fn) {
  const started = performance.now();
  await fn();
  return OPS / ((performance.now() - started) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const on = await host(true);
const off = await host(false);
const results = { publish: { on: [], off: [] }, call: { on: [], off: [] } };
for (let round = 0; round < ROUNDS; round++) {
  for (const op of ['publish', 'call']) {
    const order = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const which of order) results[op][which].push(await rate((which === 'on' ? on : off)[op]));
  }
}
await Promise.all([on.close(), off.close()]);
for (const op of ['publish', 'call']) {
  const a = median(results[op].on);
  const b = median(results[op].off);
  console.log(
    `${op}: metrics on ${(a / 1e6).toFixed(2)} M ops/s, off ${(b / 1e6).toFixed(2)} M ops/s, ` +
      `overhead ${(((b - a) / b) * 100).toFixed(1)} % (median of ${ROUNDS} alternating rounds)`,
  );
}
