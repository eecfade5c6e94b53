// Client CPU per cache operation (µs of user+system time of this process per op), ours against
// raw ioredis, alternating: a figure far less sensitive to machine load than ops/s.
// Usage: node bench/cache-cpu.mjs [rounds=3] [ops=40000]   (needs `npm run build`)
// One hot key, the cache scenario's value, every set with a 60 s TTL; get/set at 1 and 100 in
// flight. CASES=set-100,get-1 picks cases, IMPLS=ours,raw picks sides, and BASE_DIST=<path to
// another build's dist/index.js> adds that build as `base` (before/after on the same machine).
// Keys live at most 60 s (their TTL); raw's are deleted at the end.
import console from 'node:console';
import process from 'node:process';
import { userValue } from './lib/cache-data.mjs';
import { plugboardRedis, startRedisHosts } from './lib/plugboard.mjs';
import { REDIS_URL, uniquePrefix, deletePrefixKeys } from './lib/remote.mjs';

const rounds = Number(process.argv[2] ?? 3);
const N = Number(process.argv[3] ?? 40_000);
const only = process.env.CASES?.split(',');
const value = userValue(7);

async function ours() {
  const { contexts, close } = await startRedisHosts(1, 'cpu');
  return wrap(contexts, close);
}
async function base() {
  const { pathToFileURL } = await import('node:url');
  const { createHost, definePlugin } = await import(pathToFileURL(process.env.BASE_DIST).href);
  const namespace = uniquePrefix('base').replace(/[^\w-]/g, '');
  let ctx;
  const host = await createHost({
    plugins: [
      definePlugin({
        name: 'cpu',
        version: '1.0.0',
        activate: (c) => {
          ctx = c;
        },
      }),
    ],
    nodeId: namespace,
    backend: { redis: REDIS_URL, namespace },
    parity: false,
  });
  await host.start();
  return wrap([ctx], () => host.stop());
}
function wrap(contexts, close) {
  const { cache } = contexts[0];
  const o = { ttl: 60 };
  return { get: (k) => cache.get(k), set: (k) => cache.set(k, value, o), close };
}
async function raw(inFlight) {
  const Redis = await plugboardRedis();
  const prefix = `${uniquePrefix('rawcpu')}:`;
  const redis = new Redis(REDIS_URL, { enableAutoPipelining: inFlight > 1 });
  await redis.ping();
  return {
    get: (k) => redis.get(prefix + k).then((s) => (s === null ? undefined : JSON.parse(s))),
    set: (k) => redis.set(prefix + k, JSON.stringify(value), 'EX', 60),
    close: async () => {
      redis.disconnect();
      await deletePrefixKeys(prefix.slice(0, -1));
    },
  };
}
async function drive(fn, inFlight, n) {
  let started = 0;
  await new Promise((resolve, reject) => {
    let done = 0;
    const next = () => {
      if (started >= n) return;
      started++;
      fn().then(() => (++done === n ? resolve() : next()), reject);
    };
    for (let i = 0; i < inFlight; i++) next();
  });
}
const cases = [];
for (const op of ['get', 'set']) for (const f of [1, 100]) cases.push([op, f]);
const res = {};
for (let r = 0; r < rounds; r++) {
  for (const [op, f] of cases) {
    const name = `${op}-${f}`;
    if (only && !only.includes(name)) continue;
    for (const [impl, make] of (r % 2
      ? [
          ['raw', raw],
          ['base', base],
          ['ours', ours],
        ]
      : [
          ['ours', ours],
          ['base', base],
          ['raw', raw],
        ]
    ).filter(
      ([i]) =>
        (!process.env.IMPLS || process.env.IMPLS.split(',').includes(i)) &&
        (i !== 'base' || process.env.BASE_DIST),
    )) {
      const c = await make(f);
      await c.set('hot');
      const run = op === 'get' ? () => c.get('hot') : () => c.set('hot');
      await drive(run, f, N / 4); // warm-up
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await drive(run, f, N);
      const t = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      await c.close();
      ((res[name] ??= {})[impl] ??= []).push({ us: (cpu.user + cpu.system) / N, ops: N / t });
    }
  }
}
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
for (const [name, by] of Object.entries(res)) {
  const o = by.ours ?? [{ us: NaN, ops: NaN }],
    w = by.raw ?? [{ us: NaN, ops: NaN }],
    b = by.base ?? [{ us: NaN, ops: NaN }];
  const bu = med(b.map((x) => x.us)),
    bo = med(b.map((x) => x.ops));
  const ou = med(o.map((x) => x.us)),
    ru = med(w.map((x) => x.us));
  const oo = med(o.map((x) => x.ops)),
    ro = med(w.map((x) => x.ops));
  console.log(
    `${name.padEnd(8)} cpu µs/op ours ${ou.toFixed(2)} raw ${ru.toFixed(2)} (x${(ou / ru).toFixed(2)})  ops/s ours ${oo.toFixed(0)} raw ${ro.toFixed(0)} (x${(oo / ro).toFixed(2)})  base ${bu.toFixed(2)} µs ${bo.toFixed(0)} ops/s (x${(bo / ro).toFixed(2)})`,
  );
}
process.exit(0);
