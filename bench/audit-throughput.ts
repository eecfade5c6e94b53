// auditLogger.log() throughput: entries/s with 1 host and with 3 hosts writing at once, on the
// embedded backend (in memory, and with its JSONL file) and on Redis. Run from the repo root:
//   node --import tsx bench/audit-throughput.ts
// (needs Redis at PLUGBOARD_BENCH_REDIS or redis://127.0.0.1:6379 for the Redis rows).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHost, createMemoryNetwork, definePlugin, type PluginContext } from '../src/index.js';

const REDIS = process.env.PLUGBOARD_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const KEY = 'bench-checkpoint-key-0123456789abcdefghij';
const DURATION_MS = 2000;
/** log() calls in flight per host (as a busy plugin calling it without await would have). */
const IN_FLIGHT = 512;

type Sink = 'memory' | 'file' | 'redis';

async function hosts(sink: Sink, count: number) {
  const dir = await mkdtemp(join(tmpdir(), 'pb-audit-bench-'));
  const network = createMemoryNetwork(sink === 'file' ? { auditLog: join(dir, 'audit.log') } : {});
  const namespace = `bench-audit-${Date.now()}`;
  const contexts: PluginContext[] = [];
  const started = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const host = await createHost({
        logLevel: 'silent',
        backend: sink === 'redis' ? { redis: REDIS, namespace } : { memory: network },
        audit: { checkpointKey: KEY },
        plugins: [
          definePlugin({ name: `p${i}`, version: '1.0.0', activate: (c) => void contexts.push(c) }),
        ],
      });
      await host.start();
      return host;
    }),
  );
  return {
    contexts,
    stop: async () => {
      await Promise.all(started.map((h) => h.stop()));
      await rm(dir, { recursive: true, force: true });
      if (sink === 'redis') {
        const { Redis } = await import('ioredis');
        const client = new Redis(REDIS);
        await client.del(`{${namespace}}:au:h`, `{${namespace}}:au:r`);
        client.disconnect();
      }
    },
  };
}

async function run(sink: Sink, count: number): Promise<number> {
  const { contexts, stop } = await hosts(sink, count);
  let done = 0;
  const end = Date.now() + DURATION_MS;
  const worker = async (c: PluginContext): Promise<void> => {
    while (Date.now() < end) {
      await c.auditLogger.log({
        action: 'order.placed',
        actor: 'user-1',
        target: 'order-1',
        metadata: { amount: 42, currency: 'EUR', ip: '10.0.0.1' },
      });
      done++;
    }
  };
  const started = Date.now();
  await Promise.all(contexts.flatMap((c) => Array.from({ length: IN_FLIGHT }, () => worker(c))));
  const rate = done / ((Date.now() - started) / 1000);
  const check = await contexts[0]!.auditLogger.verify();
  if (!check.ok) throw new Error(`chain broken: ${JSON.stringify(check)}`);
  await stop();
  return rate;
}

for (const sink of ['memory', 'file', 'redis'] as const)
  for (const count of [1, 3]) {
    const rate = await run(sink, count);
    console.log(
      `${sink.padEnd(6)} ${count} host(s): ${Math.round(rate).toLocaleString('en')} entries/s`,
    );
  }
