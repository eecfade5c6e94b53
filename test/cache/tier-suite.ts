import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { ContextClosedError, ValidationError } from '../../src/errors/errors.js';
import { figure, waitFor } from '../backends/redis/support.js';
import { fillLocal, startNodes, type TierBackend, type TierNodes } from './tier-support.js';

class DatabaseDown extends Error {
  readonly code = 'DB_DOWN';
}

let seq = 0;
const fresh = (label: string): string => `${label}:${++seq}:${Math.random().toString(36).slice(2)}`;

/**
 * A tiered cache on `context` whose loader hangs until `release()`, then returns `value`;
 * `started` resolves once the loader was called.
 */
async function hangingTiered(context: PluginContext, key: string, value: string) {
  let release!: () => void;
  const hanging = new Promise<void>((resolve) => (release = resolve));
  let loading = false;
  const tiered = context.cache.tiered<string>({
    load: async () => {
      loading = true;
      await hanging;
      return value;
    },
  });
  await tiered.local.ready();
  const slow = tiered.get(key);
  await waitFor(() => loading, 3000, 'the load');
  return { tiered, slow, release };
}

/** The local and tiered cache cases, run on one backend. */
export function tierSuite(kind: TierBackend): void {
  describe(`cache tiers on ${kind}`, () => {
    let nodes: TierNodes;
    before(async () => {
      nodes = await startNodes(kind);
    });
    after(() => nodes.close());

    it('local tier: sync get/set, null values, per-entry TTL, LRU bound, validation', async () => {
      const local = nodes.a.cache.local<unknown>({ maxEntries: 2 });
      await local.ready();
      assert.equal(local.get('x'), undefined);
      local.set('x', { n: 1 });
      assert.deepEqual(local.get('x'), { n: 1 });
      local.set('nil', null);
      assert.equal(local.get('nil'), null);
      local.set('y', 2); // over the bound: x, the least recently used, goes
      assert.equal(local.size, 2);
      assert.equal(local.get('x'), undefined);
      assert.equal(local.delete('nil'), true);
      assert.equal(local.delete('nil'), false);
      local.set('short', 'soon gone', { ttl: 0.02 });
      assert.equal(local.get('short'), 'soon gone');
      await waitFor(() => !local.has('short'), 2000, 'the entry TTL');
      assert.throws(() => local.set('', 1), ValidationError);
      assert.throws(() => local.set('k', undefined), ValidationError);
      assert.throws(() => local.set('k', 1, { ttl: Number.NaN }), ValidationError);
      assert.throws(() => local.set('k', 1, { ttl: -1 }), ValidationError);
      assert.throws(() => nodes.a.cache.local({ maxEntries: 0 }), ValidationError);
      assert.throws(() => nodes.a.cache.local({ maxEntries: 1.5 }), ValidationError);
      assert.throws(() => nodes.a.cache.local({ ttl: 0 }), ValidationError);
      assert.throws(() => nodes.a.cache.local(null as never), ValidationError);
      assert.throws(() => nodes.a.cache.tiered({} as never), ValidationError);
      assert.throws(() => nodes.a.cache.tiered({ load: () => 1, loadLease: -1 }), ValidationError);
      local.clear();
      assert.equal(local.size, 0);
    });

    it("a write or delete on another node evicts this node's local tiers", async () => {
      const key = fresh('user');
      const local = nodes.a.cache.local<string>();
      const other = nodes.a2.cache.local<string>();
      await local.ready();
      local.set(key, 'v1');
      other.set(key, 'v1');
      await nodes.b.cache.set(key, 'v2', { ttl: 60 });
      await waitFor(
        () => !local.has(key) && !other.has(key),
        5000,
        'eviction after a remote write',
      );
      local.set(key, 'v2');
      assert.equal(local.get(key), 'v2');
      await nodes.b.cache.delete(key);
      await waitFor(() => !local.has(key), 5000, 'eviction after a remote delete');
    });

    it("this node's own writes evict its local tiers before they resolve (read your writes)", async () => {
      const local = nodes.a.cache.local<string>();
      await local.ready();
      const keys = Array.from({ length: 6 }, () => fresh('own'));
      for (const key of keys) local.set(key, 'stale');
      const [k0, k1, k2, k3, k4, k5] = keys as [string, string, string, string, string, string];
      await nodes.a.cache.set(k0, 'new');
      assert.equal(local.get(k0), undefined, 'after set');
      await nodes.a.cache.delete(k1);
      assert.equal(local.get(k1), undefined, 'after delete');
      await nodes.a.cache.setIfVersion(k2, 'new', null);
      assert.equal(local.get(k2), undefined, 'after setIfVersion');
      await nodes.a.cache.update<string>(k3, () => 'new');
      assert.equal(local.get(k3), undefined, 'after update');
      await nodes.a.cache.multi().set(k4, 'new').delete(k5).exec();
      assert.equal(local.get(k4), undefined, 'after multi set');
      assert.equal(local.get(k5), undefined, 'after multi delete');
    });

    it('a shared read begun before an invalidation never fills the local tier after it', async () => {
      const key = fresh('race');
      await nodes.b.cache.set(key, 'old');
      const local = nodes.a.cache.local<string>();
      const probe = nodes.a2.cache.local<string>();
      await local.ready();
      // The chapter's pattern: local miss, then the shared read...
      assert.equal(local.get(key), undefined);
      const read = await nodes.a.cache.get<string>(key);
      assert.equal(read, 'old');
      // ...while another node changes the key, and this node hears of it...
      probe.set(key, 'probe');
      await nodes.b.cache.set(key, 'new');
      await waitFor(() => !probe.has(key), 5000, 'the invalidation');
      // ...then the late set of the old value is dropped.
      local.set(key, read, { ttl: 60 });
      assert.equal(local.get(key), undefined);
      // A read begun after the invalidation fills it as usual.
      const again = await nodes.a.cache.get<string>(key);
      local.set(key, again!, { ttl: 60 });
      assert.equal(local.get(key), 'new');
    });

    it("the chapter's getUser as written, with local() and the shared cache", async () => {
      const localCache = nodes.a.cache.local<{ id: number; name: string }>();
      const distributedCache = nodes.a.cache;
      await localCache.ready();
      let queries = 0;
      const database = {
        query: async (_sql: string, [id]: [number]) => {
          queries++;
          return { id, name: `user ${id}` };
        },
      };
      async function getUser(userId: number) {
        let user = localCache.get(`user:${userId}`);
        if (user) return user;
        user = await distributedCache.get(`user:${userId}`);
        if (user) {
          localCache.set(`user:${userId}`, user, { ttl: 60 });
          return user;
        }
        user = await database.query('SELECT * FROM users WHERE id = ?', [userId]);
        void distributedCache.set(`user:${userId}`, user, { ttl: 3600 }); // not awaited, as written
        localCache.set(`user:${userId}`, user, { ttl: 60 });
        return user;
      }
      const id = ++seq + 1000;
      assert.deepEqual(await getUser(id), { id, name: `user ${id}` });
      assert.deepEqual(await getUser(id), { id, name: `user ${id}` });
      assert.equal(queries, 1);
      await nodes.b.cache.delete(`user:${id}`);
      await waitFor(() => !localCache.has(`user:${id}`), 5000, 'eviction');
      await getUser(id);
      assert.equal(queries, 2);
      // Once the write's own invalidation has passed, reads are served by the local tier.
      for (let i = 0; i < 100 && !localCache.has(`user:${id}`); i++) await getUser(id);
      assert.deepEqual(localCache.get(`user:${id}`), { id, name: `user ${id}` });
      assert.equal(queries, 2);
    });

    it('tiered: a stampede of 1,000 concurrent misses over two nodes calls the loader once', async () => {
      const key = fresh('stampede');
      let loads = 0;
      const load = async (k: string) => {
        loads++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { k, at: loads };
      };
      const ta = nodes.a.cache.tiered({ load, ttl: 60 });
      const tb = nodes.b.cache.tiered({ load, ttl: 60 });
      await Promise.all([ta.local.ready(), tb.local.ready()]);
      const gets = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? ta : tb).get(key));
      const values = await Promise.all(gets);
      assert.equal(loads, 1);
      for (const value of values) assert.deepEqual(value, { k: key, at: 1 });
    });

    it('tiered: values loaded one key at a time (each awaited) are kept in the local tier', async () => {
      const prefix = fresh('one-by-one');
      let loads = 0;
      const tiered = nodes.a.cache.tiered({
        load: (k: string) => {
          loads++;
          return { k };
        },
        ttl: 60,
      });
      await tiered.local.ready();
      const keys = Array.from({ length: 200 }, (_, i) => `${prefix}:${i}`);
      for (const key of keys) assert.deepEqual(await tiered.get(key), { k: key });
      assert.equal(loads, keys.length);
      // The loader's own shared write (and its invalidation coming back) does not spoil its fill.
      await waitFor(() => tiered.local.size === keys.length, 5000, 'every loaded value kept');
      for (const key of keys) assert.deepEqual(tiered.local.get(key), { k: key });
      for (const key of keys) await tiered.get(key);
      assert.equal(loads, keys.length, 'served by the local tier, not loaded again');
    });

    it("tiered: a load's own write does not keep its value over another node's later write", async () => {
      const key = fresh('own-then-other');
      const tiered = nodes.a.cache.tiered<string>({ load: () => 'loaded', ttl: 60 });
      const probe = nodes.a2.cache.local<string>();
      await tiered.local.ready();
      assert.equal(await tiered.get(key), 'loaded');
      probe.set(key, 'probe');
      await nodes.b.cache.set(key, 'other');
      await waitFor(() => !probe.has(key), 5000, "the other node's invalidation");
      assert.notEqual(tiered.local.get(key), 'loaded');
      assert.equal(await tiered.get(key), 'other');
      // A read that overlapped a spoiled one is not kept either: later reads fill the tier.
      for (let i = 0; i < 100 && !tiered.local.has(key); i++)
        assert.equal(await tiered.get(key), 'other');
      assert.equal(tiered.local.get(key), 'other');
    });

    it("tiered: when the loading node's lease lapses (it hangs or died), another node loads", async (t) => {
      const key = fresh('lease');
      let release!: () => void;
      const hanging = new Promise<void>((resolve) => (release = resolve));
      let aLoading = false;
      const ta = nodes.a.cache.tiered<string>({
        loadLease: 0.3,
        load: async () => {
          aLoading = true; // a holds the load claim from here on
          await hanging;
          return 'from a';
        },
      });
      let bLoads = 0;
      const tb = nodes.b.cache.tiered<string>({
        loadLease: 0.3,
        load: () => `from b ${++bLoads}`,
      });
      await Promise.all([ta.local.ready(), tb.local.ready()]);
      const slow = ta.get(key);
      await waitFor(() => aLoading, 3000, "a's load");
      // b finds the claim held, waits, and loads once the lease lapsed (a never stored anything)
      const started = Date.now();
      assert.equal(await tb.get(key), 'from b 1');
      figure(t, 'wait for a lapsed 300 ms load lease', Date.now() - started, 'ms');
      assert.equal(bLoads, 1);
      release();
      assert.equal(await slow, 'from a');
      // a's late value never overwrites the one b stored meanwhile
      assert.equal(await nodes.b.cache.get(key), 'from b 1');
    });

    it('tiered: a value written while the loader runs is not overwritten by the loaded one', async () => {
      const key = fresh('written-meanwhile');
      const loaded = 'read from the database before the write';
      const { tiered, slow, release } = await hangingTiered(nodes.a, key, loaded);
      await nodes.b.cache.set(key, 'written');
      release();
      await slow;
      assert.equal(await nodes.a.cache.get(key), 'written');
      assert.equal(await tiered.get(key), 'written');
    });

    it('tiered: a get after a change of the key does not join a load begun before it', async () => {
      const key = fresh('joined');
      const loaded = 'loaded before the writes';
      const { tiered, slow, release } = await hangingTiered(nodes.a, key, loaded);
      await tiered.set(key, 'own write'); // this node's own write...
      const afterOwn = tiered.get(key);
      const probe = nodes.a2.cache.local<string>();
      probe.set(key, 'probe');
      await nodes.b.cache.set(key, 'remote write'); // ...and, once heard, another node's
      await waitFor(() => !probe.has(key), 5000, 'the invalidation');
      const afterRemote = tiered.get(key);
      release();
      assert.equal(await afterOwn, 'own write');
      assert.equal(await afterRemote, 'remote write');
      await slow;
    });

    it('tiered: a loader error reaches every waiter, typed, and is not cached', async () => {
      const key = fresh('failing');
      let loads = 0;
      const tiered = nodes.a.cache.tiered<string>({
        load: async () => {
          loads++;
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (loads === 1) throw new DatabaseDown('database down');
          return 'loaded';
        },
      });
      const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => tiered.get(key)));
      assert.equal(loads, 1);
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 'rejected');
        assert.ok(outcome.reason instanceof DatabaseDown);
      }
      assert.equal(await nodes.a.cache.get(key), undefined);
      assert.equal(await tiered.get(key), 'loaded');
      assert.equal(loads, 2);
      await assert.rejects(
        nodes.a.cache.tiered({ load: () => undefined }).get(fresh('undef')),
        ValidationError,
      );
    });

    it("tiered: delete on one node evicts the other node's local tier; per-tier TTLs", async () => {
      const key = fresh('tiered');
      let loads = 0;
      const load = (k: string) => `${k}#${++loads}`;
      const ta = nodes.a.cache.tiered<string>({ load, ttl: 60, localTtl: 30 });
      const tb = nodes.b.cache.tiered<string>({ load, ttl: 60, localTtl: 30 });
      await Promise.all([ta.local.ready(), tb.local.ready()]);
      assert.equal(await ta.get(key), `${key}#1`);
      assert.equal(await tb.get(key), `${key}#1`);
      await fillLocal(ta, key);
      assert.equal(ta.local.get(key), `${key}#1`);
      assert.equal(await tb.delete(key), true);
      await waitFor(() => !ta.local.has(key), 5000, 'remote eviction');
      assert.equal(tb.local.get(key), undefined);
      assert.equal(await ta.get(key), `${key}#2`);
      await tb.set(key, 'written');
      await waitFor(() => !ta.local.has(key), 5000, 'eviction after set');
      assert.equal(await ta.get(key), 'written');
      assert.equal(loads, 2);
    });

    it('close() releases a tier before its plugin stops (a tier per request does not pile up)', async () => {
      const tiers = (): number => nodes.scopes[0]!.holdings().cacheTiers;
      const before = tiers();
      const local = nodes.a.cache.local<string>();
      const tiered = nodes.a.cache.tiered<string>({ load: () => 'loaded' });
      assert.equal(tiers(), before + 2);
      await local.ready();
      local.set('closing', 'v');
      local.close();
      local.close(); // idempotent
      assert.equal(local.get('closing'), undefined);
      local.set('closing', 'v');
      assert.equal(local.get('closing'), undefined, 'a closed tier keeps nothing');
      const key = fresh('closed-tiered');
      tiered.close();
      assert.equal(tiers(), before);
      // Still reads through the shared tier and the loader, without a local copy.
      assert.equal(await tiered.get(key), 'loaded');
      assert.equal(tiered.local.get(key), undefined);
    });

    it('local tiers are released with their plugin', async () => {
      const scope = nodes.scopes[1]!;
      const local = nodes.a2.cache.local<string>();
      const tiered = nodes.a2.cache.tiered<string>({ load: () => 'v' });
      await local.ready();
      local.set('kept', 'v');
      await scope.release(1000);
      assert.equal(local.get('kept'), undefined);
      local.set('kept', 'v');
      assert.equal(local.get('kept'), undefined);
      assert.throws(() => nodes.a2.cache.local(), /stopped/);
      await assert.rejects(tiered.get('kept'), ContextClosedError);
      await assert.rejects(tiered.delete('kept'), ContextClosedError);
    });
  });
}
