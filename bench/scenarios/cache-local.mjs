// Scenario: in-process cache hits/s: Plugboard's local tier (`context.cache.local()`) and the
// multi-level helper's hit path (`context.cache.tiered().get`) against cache-manager's memory
// stores, one hot key and 100k distinct keys.
import { cursor, dataset, fill, MANY_KEYS } from '../lib/cache-data.mjs';
import { startRedisHosts } from '../lib/plugboard.mjs';
import { redisScenarioAvailable } from '../lib/remote.mjs';

/** Entry TTL, seconds: far beyond a run, so every get is a hit. */
const TTL_S = 300;

/**
 * Hits over `count` keys visited round-robin, after every key was stored. `get` is synchronous
 * (`sync: true`, a loop of plain calls) or returns a promise (awaited one at a time). Each get
 * must return its own key's value; a miss or a wrong value makes the run invalid.
 */
async function hitRun({ get, set, sync, close }, count) {
  const data = dataset(count);
  await fill(set, data);
  const { keys } = data;
  const next = cursor(count);
  let hits = 0;
  let wrong = 0;
  const check = (v, k) => (v?.n === k ? hits++ : wrong++);
  return {
    batch: sync
      ? (n) => {
          for (let i = 0; i < n; i++) {
            const k = next();
            check(get(keys[k]), k);
          }
        }
      : async (n) => {
          for (let i = 0; i < n; i++) {
            const k = next();
            check(await get(keys[k]), k);
          }
        },
    verify: (ops) =>
      wrong
        ? `${wrong} gets missed or returned another key's value`
        : hits === ops
          ? null
          : `${hits} hits, harness counted ${ops}`,
    close,
  };
}

// ---------------------------------------------------------------- Plugboard

/** A host on Redis (the tiers' invalidation runs there), one plugin. */
async function plugboardHost() {
  const { contexts, close } = await startRedisHosts(1, 'cacher');
  return { cache: contexts[0].cache, close };
}

/** `context.cache.local()`: the bounded in-process tier, synchronous `get`. */
async function local(count) {
  const { cache, close } = await plugboardHost();
  const tier = cache.local({ maxEntries: MANY_KEYS, ttl: TTL_S });
  // Until the node hears invalidations, `set` keeps nothing.
  await tier.ready();
  const options = { ttl: TTL_S };
  return hitRun(
    {
      get: (key) => tier.get(key),
      set: (key, value) => tier.set(key, value, options),
      sync: true,
      close,
    },
    count,
  );
}

/**
 * `context.cache.tiered({ load })`: every key is loaded (loader → shared tier → local tier)
 * before the window, so the window's gets take the local-tier hit path.
 */
async function tiered(count) {
  const { cache, close } = await plugboardHost();
  const { keys, values } = dataset(count);
  const byKey = new Map(keys.map((key, i) => [key, values[i]]));
  const helper = cache.tiered({
    load: (key) => byKey.get(key),
    ttl: TTL_S,
    localTtl: TTL_S,
    maxEntries: MANY_KEYS,
  });
  await helper.local.ready();
  // Two passes: a value this node just loaded is not always kept in its local tier (the load's
  // own shared write can invalidate it), so the second pass brings it there from the shared tier.
  await fill((key) => helper.get(key), { keys, values });
  return hitRun({ get: (key) => helper.get(key), set: (key) => helper.get(key), close }, count);
}

// ---------------------------------------------------------------- cache-manager

/** `createCache()` with no store: its default memory store (a Keyv over a Map). */
async function cacheManagerDefault(count) {
  const { createCache } = await import('cache-manager');
  return cacheManagerRun(createCache(), count);
}

/** The bounded LRU memory store cache-manager's README recommends (`CacheableMemory`). */
async function cacheManagerLru(count) {
  const [{ createCache }, { createKeyv }] = await Promise.all([
    import('cache-manager'),
    import('cacheable'),
  ]);
  return cacheManagerRun(
    createCache({ stores: [createKeyv({ ttl: TTL_S * 1000, lruSize: MANY_KEYS })] }),
    count,
  );
}

function cacheManagerRun(cache, count) {
  const ttlMs = TTL_S * 1000;
  return hitRun(
    {
      get: (key) => cache.get(key),
      set: (key, value) => cache.set(key, value, ttlMs),
      close: () => cache.disconnect(),
    },
    count,
  );
}

const IMPLS = [
  ['local', 'ours', 'Plugboard `cache.local().get`', local],
  ['cm-memory', 'anchor', 'cache-manager 7 default memory store', cacheManagerDefault],
  ['tiered', 'ours', 'Plugboard `cache.tiered().get` (local hit)', tiered],
  ['cm-lru', 'anchor', 'cache-manager 7 + CacheableMemory LRU', cacheManagerLru],
];
const KEYS = [
  ['hot', 1, 'one hot key'],
  ['100k', MANY_KEYS, '100k distinct keys'],
];

export default {
  name: 'cache-local',
  title: 'In-process cache hits (local tier and multi-level hit path vs cache-manager memory)',
  // Filling 100k keys through the multi-level helper loads each one through Redis first.
  childTimeoutMs: 180_000,
  notes: `Hits per second from an in-process cache, one process. Every key is stored (or, for
the multi-level helper, loaded once) before the window; then gets visit the keys round-robin:
**one hot key**, or **${MANY_KEYS.toLocaleString('en')} distinct keys** (all fit: every store is
sized for them). The value is the same small object as the Redis cache scenario. Each get must
return its own key's value (a miss makes the run invalid). Entry TTL ${TTL_S} s.

- **Plugboard \`cache.local().get\`**: \`context.cache.local({ maxEntries, ttl })\`, the bounded
  LRU tier whose entries every node drops when the shared key changes; its \`get\` is
  synchronous (a loop of plain calls).
- **Plugboard \`cache.tiered().get\`**: \`context.cache.tiered({ load, ttl, localTtl,
  maxEntries })\`, the multi-level helper; \`await helper.get(key)\` served by its local tier.
- **cache-manager 7, default memory store**: \`createCache()\` (a Keyv over a \`Map\`),
  \`await cache.get(key)\`.
- **cache-manager 7 + CacheableMemory**: \`createCache({ stores: [createKeyv({ ttl, lruSize })]
  })\` from \`cacheable\`, the bounded LRU memory store its README recommends.

Both Plugboard variants run in a host on the shared local Redis (the local tier's invalidation
needs the backend), but a hit touches no network.`,
  available: redisScenarioAvailable,
  variants: IMPLS.flatMap(([id, side, label, make]) =>
    KEYS.map(([suffix, count, what]) => ({
      id: `${id}-${suffix}`,
      side,
      label: `${label}, ${what}`,
      setup: () => make(count),
    })),
  ),
  comparisons: KEYS.flatMap(([suffix, , what]) =>
    ['local', 'tiered'].flatMap((ours) =>
      ['cm-memory', 'cm-lru'].map((anchor) => ({
        label: `ours \`${ours}\` ÷ cache-manager ${anchor === 'cm-lru' ? 'LRU' : 'default'} memory store, ${what}`,
        a: `${ours}-${suffix}`,
        b: `${anchor}-${suffix}`,
        target: { op: '>=', value: 2 },
      })),
    ),
  ),
};
