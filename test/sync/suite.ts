import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, Runtime, ScopedContext } from '../../src/context/types.js';
import {
  ContextClosedError,
  PayloadTooLargeError,
  SerializationError,
  ValidationError,
} from '../../src/errors/errors.js';
import type { Change, Published } from '../../src/sync/types.js';
import { until } from '../conformance/harness.js';
import { silentLogger } from '../support/runtime.js';

/** Makes backends of one cluster (not started) and cleans up after them. */
export interface SyncCluster {
  create(): Promise<Backend>;
  cleanup(): Promise<void>;
}

interface Node {
  runtime: Runtime;
  scoped(name: string): ScopedContext;
  ctx(name: string): PluginContext;
}

const MAX_PAYLOAD = 64 * 1024;

/** `context.dataSync` on two nodes of one cluster of `label`. */
export function dataSyncSuite(label: string, makeCluster: () => Promise<SyncCluster>): void {
  describe(`context.dataSync (${label})`, () => {
    let cluster: SyncCluster;
    let one: Node;
    let two: Node;
    const fresh = (): string => `users-${randomBytes(4).toString('hex')}`;

    async function node(): Promise<Node> {
      const backend = await cluster.create();
      const runtime = createRuntime({
        backend,
        logger: silentLogger,
        limits: { maxPayloadBytes: MAX_PAYLOAD },
        dataSync: { maxChanges: 10_000, maxAgeMs: 3_600_000 },
      });
      await runtime.start();
      const scopes = new Map<string, ScopedContext>();
      const scoped = (name: string): ScopedContext => {
        let scope = scopes.get(name);
        if (scope === undefined) {
          scope = runtime.createContext({
            name,
            version: '1.0.0',
            permissions: undefined,
            options: {},
          });
          scopes.set(name, scope);
        }
        return scope;
      };
      return { runtime, scoped, ctx: (name) => scoped(name).context };
    }

    before(async () => {
      cluster = await makeCluster();
      [one, two] = await Promise.all([node(), node()]);
    });
    after(async () => {
      await Promise.all([one.runtime.close(), two.runtime.close()]);
      await cluster.cleanup();
    });

    it('delivers every change to watchers on both nodes in seq order, one at a time', async () => {
      const users = fresh();
      const got: Change[] = [];
      let running = 0;
      let overlap = false;
      const sub = two.ctx('watcher').dataSync.watch(users, async (change) => {
        overlap ||= ++running > 1;
        await new Promise((resolve) => setImmediate(resolve));
        got.push(change);
        running--;
      });
      const local: number[] = [];
      const subLocal = one.ctx('writer').dataSync.watch(users, (c) => void local.push(c.seq));
      await Promise.all([sub.ready, subLocal.ready]);
      const published: Published[] = [];
      for (let i = 1; i <= 50; i++) {
        published.push(
          await one.ctx('writer').dataSync.publish(users, {
            type: i === 1 ? 'create' : 'update',
            id: i % 2 ? `u${i}` : i,
            data: { n: i, at: new Date(1_700_000_000_000 + i) },
          }),
        );
      }
      await until(() => got.length === 50 && local.length === 50, 5000, 'every change');
      assert.equal(overlap, false, 'handler calls never overlap');
      assert.deepEqual(
        local,
        published.map((p) => p.seq),
      );
      got.forEach((change, i) => {
        assert.deepEqual(change, {
          collection: users,
          type: i === 0 ? 'create' : 'update',
          id: (i + 1) % 2 ? `u${i + 1}` : i + 1,
          data: { n: i + 1, at: new Date(1_700_000_000_000 + i + 1) },
          seq: published[i]!.seq,
          timestamp: published[i]!.timestamp,
        });
      });
      assert.deepEqual(
        got.map((c) => c.seq),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      await Promise.all([sub.unsubscribe(), subLocal.unsubscribe()]);
    });

    it('refuses bad input with typed errors', async () => {
      const sync = one.ctx('writer').dataSync;
      const ok = { type: 'create', id: 1, data: {} } as const;
      await assert.rejects(sync.publish('', ok), ValidationError);
      await assert.rejects(sync.publish('a\nb', ok), ValidationError);
      await assert.rejects(sync.publish('x'.repeat(300), ok), ValidationError);
      await assert.rejects(sync.publish(42 as unknown as string, ok), ValidationError);
      await assert.rejects(
        sync.publish('c', { ...ok, type: 'upsert' as 'create' }),
        ValidationError,
      );
      await assert.rejects(sync.publish('c', { ...ok, id: '' }), ValidationError);
      await assert.rejects(sync.publish('c', { ...ok, id: NaN }), ValidationError);
      await assert.rejects(
        sync.publish('c', { ...ok, id: {} as unknown as string }),
        ValidationError,
      );
      await assert.rejects(sync.publish('c', null as unknown as typeof ok), ValidationError);
      await assert.rejects(sync.publish('c', { ...ok, data: { f: () => 1 } }), SerializationError);
      await assert.rejects(
        sync.publish('c', { ...ok, data: 'x'.repeat(MAX_PAYLOAD + 1) }),
        PayloadTooLargeError,
      );
      assert.throws(() => sync.watch('c', 'nope' as unknown as () => void), ValidationError);
      assert.throws(() => sync.watch('c', () => undefined, { from: -1 }), ValidationError);
      assert.throws(() => sync.watch('c', () => undefined, { from: 1.5 }), ValidationError);
      assert.throws(
        () => sync.watch('c', () => undefined, { from: 'later' as 'now' }),
        ValidationError,
      );
      assert.throws(() => sync.watch('c', () => undefined, { name: '' }), ValidationError);
      for (const options of [null, 'users', 5])
        assert.throws(
          () => sync.watch('c', () => undefined, options as unknown as { from: 'now' }),
          ValidationError,
        );
      await assert.rejects(sync.sync('c', { from: 'not a date', to: 0 }), ValidationError);
      await assert.rejects(sync.sync('c', { from: 10, to: 5 }), ValidationError);
      await assert.rejects(sync.sync('c', { from: NaN, to: 5 }), ValidationError);
    });

    it('refuses a `__proto__` key (it could not arrive as sent), polluting nothing', async () => {
      const users = fresh();
      const data = JSON.parse('{"__proto__": {"polluted": true}, "name": "x"}') as object;
      await assert.rejects(
        one.ctx('writer').dataSync.publish(users, { type: 'create', id: 'p', data }),
        { code: 'PB_SERIALIZATION', message: /own "__proto__" key at data\.__proto__/ },
      );
      assert.equal(({} as { polluted?: boolean }).polluted, undefined);
      assert.equal(
        await two.ctx('nobody').dataSync.sync(users, { from: 0, to: Date.now() + 1000 }),
        0,
        'nothing recorded',
      );
    });

    it('resumes after a seq with `from`, or from the start', async () => {
      const users = fresh();
      const writer = one.ctx('writer').dataSync;
      for (let i = 1; i <= 10; i++) await writer.publish(users, { type: 'create', id: i, data: i });
      const after4: number[] = [];
      const all: number[] = [];
      const now: number[] = [];
      const subs = [
        two.ctx('reader').dataSync.watch(users, (c) => void after4.push(c.seq), { from: 4 }),
        two.ctx('reader').dataSync.watch(users, (c) => void all.push(c.seq), { from: 'start' }),
        two.ctx('reader').dataSync.watch(users, (c) => void now.push(c.seq)),
      ];
      await Promise.all(subs.map((s) => s.ready));
      await writer.publish(users, { type: 'update', id: 1, data: 11 });
      await until(
        () => after4.length === 7 && all.length === 11 && now.length === 1,
        5000,
        'deliveries',
      );
      assert.deepEqual(after4, [5, 6, 7, 8, 9, 10, 11]);
      assert.deepEqual(
        all,
        Array.from({ length: 11 }, (_, i) => i + 1),
      );
      assert.deepEqual(now, [11]);
      await Promise.all(subs.map((s) => s.unsubscribe()));
    });

    it('resumes a named watcher that stopped before its first change from where it started', async () => {
      const users = fresh();
      const writer = one.ctx('writer').dataSync;
      await writer.publish(users, { type: 'create', id: 'before' });
      const sub = two.ctx('mailer').dataSync.watch(users, () => undefined, { name: 'first-run' });
      await sub.ready; // from 'now': after seq 1
      await sub.unsubscribe();
      for (let i = 2; i <= 4; i++) await writer.publish(users, { type: 'create', id: i });
      const seen: number[] = [];
      const again = one.ctx('mailer').dataSync.watch(users, (c) => void seen.push(c.seq), {
        name: 'first-run',
      });
      await again.ready;
      await until(() => seen.length === 3, 5000, 'the three published while it was away');
      assert.deepEqual(seen, [2, 3, 4]);
      await again.unsubscribe();
    });

    it('resumes a named watcher after the last change it handled, on any node', async () => {
      const users = fresh();
      const writer = one.ctx('writer').dataSync;
      const first: number[] = [];
      const sub = two.ctx('mailer').dataSync.watch(users, (c) => void first.push(c.seq), {
        name: 'welcome',
        from: 'start',
      });
      await sub.ready;
      for (let i = 1; i <= 5; i++) await writer.publish(users, { type: 'create', id: i });
      await until(() => first.length === 5, 5000, 'the first five');
      await sub.unsubscribe();
      for (let i = 6; i <= 12; i++) await writer.publish(users, { type: 'create', id: i });
      const second: number[] = [];
      const again = one.ctx('mailer').dataSync.watch(users, (c) => void second.push(c.seq), {
        name: 'welcome',
        from: 'now', // ignored: the name has a cursor
      });
      await again.ready;
      await until(() => second.length === 7, 5000, 'the missed seven');
      assert.deepEqual(first, [1, 2, 3, 4, 5]);
      assert.deepEqual(second, [6, 7, 8, 9, 10, 11, 12]);
      await again.unsubscribe();
    });

    it('sync() replays a time range to this plugin’s watchers and returns the count', async () => {
      const users = fresh();
      const writer = one.ctx('writer').dataSync;
      const stamps: Published[] = [];
      for (let i = 1; i <= 6; i++) {
        stamps.push(await writer.publish(users, { type: 'update', id: i, data: i }));
        // Distinct backend timestamps, so the range can cut between changes.
        await until(async () => Date.now() > stamps[i - 1]!.timestamp + 2, 1000, 'the clock');
      }
      const mine: Change[] = [];
      const theirs: Change[] = [];
      const sub = two.ctx('cache').dataSync.watch(users, (c) => void mine.push(c));
      const other = two.ctx('other').dataSync.watch(users, (c) => void theirs.push(c));
      await Promise.all([sub.ready, other.ready]);
      const count = await two.ctx('cache').dataSync.sync(users, {
        from: stamps[1]!.timestamp,
        to: new Date(stamps[3]!.timestamp),
      });
      assert.equal(count, 3);
      assert.deepEqual(
        mine.map((c) => [c.seq, c.data]),
        [
          [2, 2],
          [3, 3],
          [4, 4],
        ],
      );
      assert.equal(theirs.length, 0, 'other plugins’ watchers get no replay');
      assert.equal(
        await two.ctx('cache').dataSync.sync(users, { from: '2001-01-01', to: '2001-01-31' }),
        0,
      );
      const today = new Date(stamps[0]!.timestamp).toISOString().slice(0, 10);
      assert.equal(await two.ctx('cache').dataSync.sync(users, { from: today, to: today }), 6);
      await writer.publish(users, { type: 'delete', id: 1 });
      await until(() => mine.length === 10 && theirs.length === 1, 5000, 'the live change');
      assert.deepEqual(mine.at(-1)?.seq, 7, 'live delivery goes on after replays');
      await Promise.all([sub.unsubscribe(), other.unsubscribe()]);
    });

    it('reports a throwing handler as a plugin error and goes on with the next change', async () => {
      const users = fresh();
      const errors: { pluginId: string; error: string }[] = [];
      const spy = one.ctx('spy').eventBus.subscribe('plugin.error', (payload) => {
        errors.push(payload as { pluginId: string; error: string });
      });
      const seen: number[] = [];
      const sub = two.ctx('fragile').dataSync.watch(users, (c) => {
        seen.push(c.seq);
        if (c.seq === 2) throw new Error('boom on 2');
      });
      await sub.ready;
      for (let i = 1; i <= 4; i++)
        await one.ctx('writer').dataSync.publish(users, { type: 'create', id: i });
      await until(() => seen.length === 4 && errors.length > 0, 5000, 'deliveries and the report');
      assert.deepEqual(seen, [1, 2, 3, 4]);
      assert.equal(errors[0]?.pluginId, 'fragile');
      assert.match(errors[0]?.error ?? '', /boom on 2/);
      spy.unsubscribe();
      await sub.unsubscribe();
    });

    it('stops delivering after unsubscribe, and when the plugin stops', async () => {
      const users = fresh();
      const writer = one.ctx('writer').dataSync;
      const a: number[] = [];
      const b: number[] = [];
      const subA = two.ctx('leaving').dataSync.watch(users, (c) => void a.push(c.seq));
      const subB = two.ctx('stopping').dataSync.watch(users, (c) => void b.push(c.seq));
      await Promise.all([subA.ready, subB.ready]);
      await writer.publish(users, { type: 'create', id: 1 });
      await until(() => a.length === 1 && b.length === 1, 5000, 'the first change');
      await subA.unsubscribe();
      await subA.unsubscribe(); // idempotent
      assert.equal(subA.active, false);
      await two.scoped('stopping').release(2000);
      assert.equal(subB.active, false);
      await writer.publish(users, { type: 'create', id: 2 });
      // A third watcher proves the change went out; the stopped ones stay still.
      const c: number[] = [];
      const subC = one.ctx('late').dataSync.watch(users, (x) => void c.push(x.seq), { from: 0 });
      await until(() => c.length === 2, 5000, 'the late watcher');
      assert.deepEqual(a, [1]);
      assert.deepEqual(b, [1]);
      assert.throws(
        () => two.ctx('stopping').dataSync.watch(users, () => undefined),
        ContextClosedError,
      );
      await subC.unsubscribe();
    });
  });
}
