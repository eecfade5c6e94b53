// Tracing overhead on publish and call: tracing off (the default without an OpenTelemetry SDK),
// on without an SDK (AsyncLocalStorage + spans through the no-op API), and on with an SDK that
// records every span (a span processor that drops them, so only Plugboard's and the SDK's own
// work is measured). Each mode runs in its own child process (AsyncLocalStorage's promise hooks
// are process-wide once on); rounds alternate the modes, and each child reports its CPU time
// (user + system) per operation, far less sensitive to machine load than ops/s.
// Usage: node bench/tracing-ab.mjs [rounds=9] [ops=100000]   (needs `npm run build`)
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const MODES = ['off', 'on', 'sdk'];

if (process.argv[2] === 'child') {
  const mode = process.argv[3];
  const N = Number(process.argv[4]);
  if (mode === 'sdk') {
    const { trace } = await import('@opentelemetry/api');
    const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
    const drop = { onStart() {}, onEnd() {}, forceFlush: async () => {}, shutdown: async () => {} };
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [drop] }));
  }
  const { startPlugboard } = await import('./lib/plugboard.mjs');
  const pb = await startPlugboard(['producer', 'consumer', 'provider'], {
    logger: false,
    parity: false,
    tracing: mode !== 'off',
  });
  let delivered = 0;
  pb.ctx.consumer.eventBus.subscribe('user.created', (data) => void (delivered += data.n));
  pb.ctx.provider.rpcServer.register('calculator', { add: (a, b) => a + b });
  const bus = pb.ctx.producer.eventBus;
  const rpc = pb.ctx.producer.rpcClient;
  const PAYLOAD = { n: 1 };
  const publish = async (n) => {
    for (let i = 0; i < n; i++) await bus.publish('user.created', PAYLOAD);
  };
  const call = async (n) => {
    for (let i = 0; i < n; i++) await rpc.call('calculator', 'add', [2, 3]);
  };
  const cpu = async (fn) => {
    const started = process.cpuUsage();
    await fn(N);
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / N; // ns per op
  };
  await publish(N);
  await call(N);
  const result = { publish: await cpu(publish), call: await cpu(call) };
  await pb.close();
  if (delivered === 0) process.exitCode = 1;
  console.log(JSON.stringify(result));
} else {
  const rounds = Number(process.argv[2] ?? 9);
  const N = process.argv[3] ?? '100000';
  const samples = Object.fromEntries(MODES.map((m) => [m, { publish: [], call: [] }]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const out = execFileSync(process.execPath, [SELF, 'child', mode, N], { encoding: 'utf8' });
      const result = JSON.parse(out.trim().split('\n').pop());
      samples[mode].publish.push(result.publish);
      samples[mode].call.push(result.call);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const op of ['publish', 'call']) {
    const off = median(samples.off[op]);
    const line = MODES.map((m) => {
      const ns = median(samples[m][op]);
      return `${m} ${ns.toFixed(0)} ns/op${m === 'off' ? '' : ` (×${(ns / off).toFixed(2)})`}`;
    });
    console.log(`${op}, 1 sync subscriber / sync method, local: ${line.join(', ')}`);
  }
}
