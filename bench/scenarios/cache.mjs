// Scenario: shared cache get/set ops/s on Redis, 1 and 100 in flight, one hot key and 100k
// distinct keys, against the raw Redis client and cache-manager on Redis.
import { cursor, dataset, fill, MANY_KEYS } from '../lib/cache-data.mjs';
import { plugboardRedis, startRedisHosts } from '../lib/plugboard.mjs';
import {
  bounded,
  deletePrefixKeys,
  inFlightLoop,
  REDIS_URL,
  redisScenarioAvailable,
  uniquePrefix,
  withTimeout,
} from '../lib/remote.mjs';

const HIGH = 100;
/** Every set carries a TTL, as cache writes do (seconds). */
const TTL_S = 60;

/**
 * The run shared by every implementation (`impl`: `{ get(key), set(key, value), close(),
 * keyPrefix? }`).
 * `op` is 'get' or 'set'; keys are visited round-robin (one key: the hot case). A get run
 * first stores every key's value; each get must return that key's value (a miss or another
 * key's value makes the run invalid). A set run reads its last written key back at the end.
 * At 1 in flight `batch(n)` awaits n operations one by one (`once` gives the latency); at 100 a
 * pump keeps 100 operations out at all times.
 */
async function cacheRun(impl, { op, inFlight, count }) {
  const data = dataset(count, impl.keyPrefix);
  if (op === 'get') await fill((k, v) => impl.set(k, v), data);
  const { keys, values } = data;
  const next = cursor(count);
  let done = 0;
  let wrong = 0;
  let last = -1;
  const one =
    op === 'get'
      ? () => {
          const k = next();
          return impl.get(keys[k]).then((v) => {
            done++;
            if (v?.n !== k) wrong++;
          });
        }
      : () => {
          const k = next();
          return impl.set(keys[k], values[k]).then(() => {
            done++;
            last = k;
          });
        };
  const loop = inFlightLoop(one, inFlight);
  return {
    batch: loop.batch,
    once: loop.once,
    verify: async (ops) => {
      await loop.stop();
      if (!loop.countOk(done, ops)) return `completed ${done} ops, harness counted ${ops}`;
      if (wrong) return `${wrong} gets did not return their key's value`;
      if (op === 'set' && last >= 0 && (await impl.get(keys[last]))?.n !== last)
        return `the last key set (${keys[last]}) does not read back`;
      return null;
    },
    close: () => impl.close(),
  };
}

// ---------------------------------------------------------------- implementations

async function plugboard() {
  const { contexts, close } = await startRedisHosts(1, 'cacher');
  const { cache } = contexts[0];
  const options = { ttl: TTL_S };
  return {
    get: (key) => cache.get(key),
    set: (key, value) => cache.set(key, value, options),
    close,
  };
}

/** ioredis (the one Plugboard runs on): `SET key JSON EX ttl` / `GET key` + `JSON.parse`. */
async function raw(inFlight) {
  const Redis = await plugboardRedis();
  const prefix = uniquePrefix('raw');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, enableAutoPipelining: inFlight > 1 });
  await withTimeout(redis.connect(), 5000, 'redis connect');
  return {
    // The run builds its keys with this prefix (no concatenation per call: the floor does
    // nothing extra).
    keyPrefix: `${prefix}:`,
    get: (key) => redis.get(key).then((s) => (s === null ? undefined : JSON.parse(s))),
    set: (key, value) => redis.set(key, JSON.stringify(value), 'EX', TTL_S),
    close: async () => {
      redis.disconnect();
      await bounded(deletePrefixKeys(prefix), 'key cleanup');
    },
  };
}

/** cache-manager 7 with its documented Redis store, `@keyv/redis` (node-redis underneath). */
async function cacheManager() {
  const [{ createCache }, { Keyv }, { default: KeyvRedis }] = await Promise.all([
    import('cache-manager'),
    import('keyv'),
    import('@keyv/redis'),
  ]);
  const prefix = uniquePrefix('cm');
  const cache = createCache({
    stores: [new Keyv({ store: new KeyvRedis(REDIS_URL), namespace: prefix })],
  });
  await withTimeout(cache.get('probe'), 5000, 'cache-manager connect');
  const ttlMs = TTL_S * 1000;
  return {
    get: (key) => cache.get(key),
    set: (key, value) => cache.set(key, value, ttlMs),
    close: async () => {
      await bounded(cache.disconnect(), 'cache-manager disconnect');
      await bounded(deletePrefixKeys(prefix), 'key cleanup');
    },
  };
}

const IMPLS = [
  ['ours', 'ours', 'Plugboard `context.cache`', () => plugboard()],
  ['raw', 'anchor', 'raw ioredis GET/SET + JSON', (inFlight) => raw(inFlight)],
  ['cm', 'anchor', 'cache-manager 7 + @keyv/redis', () => cacheManager()],
];
const SHAPES = ['get', 'set'].flatMap((op) =>
  [1, HIGH].flatMap((inFlight) =>
    [1, MANY_KEYS].map((count) => ({
      op,
      inFlight,
      count,
      suffix: `${op}-${inFlight}${count > 1 ? '-100k' : ''}`,
      label: `${op}, ${inFlight} in flight, ${count > 1 ? '100k distinct keys' : 'one hot key'}`,
    })),
  ),
);

export default {
  name: 'cache',
  title: 'Shared cache on Redis (get and set ops/s, 1 and 100 in flight, hot and 100k keys)',
  latency: true,
  // A get run of 100k keys stores them all first (a few seconds at 200 in flight).
  childTimeoutMs: 180_000,
  notes: `One process on the shared local Redis, under a namespace or key prefix no other run
shares (deleted afterwards). The value is a small object (\`{ id, name, email, roles, n }\`,
~100 bytes as JSON), the same size for every key; every set carries a ${TTL_S} s TTL. **One hot
key**: every operation uses the same key. **100k distinct keys**: operations visit
${MANY_KEYS.toLocaleString('en')} keys round-robin (a get run first stores all of them, outside
the window). At 1 in flight each operation is awaited before the next (p50/p99 from per-op
\`hrtime\` after the window); at 100 in flight a pump keeps 100 operations outstanding and ops/s
is the completion rate. Each get must return its own key's value (a miss or a wrong value
makes the run invalid); a set run reads its last key back.

- **Plugboard**: \`await context.cache.get(key)\` / \`await context.cache.set(key, value, { ttl })\`
  from a host on Redis (\`backend: { redis, namespace }\`): the RPC codec, key and size checks,
  one Redis command per operation, ioredis auto-pipelining.
- **raw ioredis** (the client Plugboard runs on): \`GET\` + \`JSON.parse\` / \`SET key JSON EX ttl\`,
  one connection, auto-pipelining at 100 in flight: the floor of any cache on this client.
- **cache-manager 7** with the Redis store its README documents: \`createCache({ stores: [new
  Keyv({ store: new KeyvRedis(url), namespace }) ] })\`, \`await cache.get(key)\` / \`await
  cache.set(key, value, ttlMs)\` (Keyv's JSON serializer; node-redis underneath).`,
  available: redisScenarioAvailable,
  variants: IMPLS.flatMap(([id, side, label, make]) =>
    SHAPES.map((shape) => ({
      id: `${id}-${shape.suffix}`,
      side,
      label: `${label}, ${shape.label}`,
      setup: async () => cacheRun(await make(shape.inFlight), shape),
    })),
  ),
  comparisons: [
    ...SHAPES.map((s) => ({
      label: `ours ÷ raw ioredis, ${s.label}`,
      a: `ours-${s.suffix}`,
      b: `raw-${s.suffix}`,
      target: { op: '>=', value: 0.9 },
    })),
    ...SHAPES.filter((s) => s.count === 1).map((s) => ({
      label: `ours ÷ cache-manager, ${s.label}`,
      a: `ours-${s.suffix}`,
      b: `cm-${s.suffix}`,
    })),
    ...SHAPES.filter((s) => s.count === 1).map((s) => ({
      label: `cache-manager ÷ raw ioredis, ${s.label}`,
      a: `cm-${s.suffix}`,
      b: `raw-${s.suffix}`,
    })),
    {
      label: 'ours ÷ raw ioredis, p50 of a get, 1 in flight, one hot key (lower is better)',
      a: 'ours-get-1',
      b: 'raw-get-1',
      metric: 'p50',
    },
  ],
};
