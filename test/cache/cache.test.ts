import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import { silentLogger, startRuntime, type TestRuntime } from '../support/runtime.js';

describe('context.cache (facade)', () => {
  let rt: TestRuntime;
  let cache: PluginContext['cache'];
  let other: PluginContext['cache'];
  before(async () => {
    rt = await startRuntime();
    cache = rt.ctx('cache-a').cache;
    other = rt.ctx('cache-b').cache;
  });
  after(() => rt.close());

  it('round-trips values of every codec type as copies; plugins share keys', async () => {
    const value = {
      n: 1,
      s: 'x',
      d: new Date(5),
      m: new Map([[1, 'a']]),
      set: new Set([1]),
      big: 10n,
      bytes: new Uint8Array([1, 2]),
      nested: { u: undefined, nil: null },
    };
    await cache.set('obj', value);
    const read = await other.get<typeof value>('obj');
    assert.deepEqual(read, value);
    assert.notEqual(read, value, 'a decoded copy');
    for (const plain of [0, '', false, null, [1, 'two']]) {
      await cache.set('plain', plain);
      assert.deepEqual(await cache.get('plain'), plain);
    }
    assert.equal(await cache.get('never-set'), undefined);
  });

  it('refuses bad keys, TTLs and values with typed errors', async () => {
    const validation = { code: 'PB_VALIDATION' };
    for (const key of ['', 'a\nb', 'tab\there', '\u0000', 'x'.repeat(1025), 'é'.repeat(513), 42]) {
      await assert.rejects(cache.set(key as string, 1), validation);
      await assert.rejects(cache.get(key as string), validation);
      await assert.rejects(cache.delete(key as string), validation);
      await assert.rejects(cache.has(key as string), validation);
      await assert.rejects(cache.expire(key as string, 1), validation);
    }
    await cache.set('k'.repeat(1024), 1); // exactly the limit
    // Lone surrogates: UTF-8 turns each into U+FFFD, so on Redis '\uD800' and '\uD801' would be
    // one key, and its invalidations would name neither of them.
    for (const key of ['\uD800', 'a\uDC00b', 'x\uD83D']) {
      await assert.rejects(cache.set(key, 1), validation);
      await assert.rejects(cache.get(key), validation);
      assert.throws(() => cache.local().set(key, 1), validation);
    }
    await cache.set('emoji \uD83D\uDE00', 1); // a well-formed pair is fine
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60', 1e15]) {
      await assert.rejects(cache.set('k', 1, { ttl: ttl as number }), validation);
      await assert.rejects(cache.expire('k', ttl as number), validation);
    }
    await assert.rejects(cache.set('k', 1, null as never), validation);
    await assert.rejects(cache.set('k', undefined), /a miss reads as undefined/);
    await assert.rejects(
      cache.set('k', () => 1),
      { code: 'PB_SERIALIZATION' },
    );
    await assert.rejects(cache.set('k', { f: Symbol('s') }), { code: 'PB_SERIALIZATION' });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await assert.rejects(cache.set('k', cyclic), { code: 'PB_SERIALIZATION' });
    await assert.rejects(cache.setIfVersion('k', 1, 7 as never), validation);
    await assert.rejects(cache.update('k', 'no' as never), validation);
    await assert.rejects(
      cache.update('k', () => 1, { maxAttempts: 0 }),
      validation,
    );
    assert.equal(await cache.has('k'), false, 'nothing was stored');
  });

  it('a fractional TTL in seconds expires the entry', async () => {
    await cache.set('brief', 'v', { ttl: 0.5 });
    assert.equal(await cache.get('brief'), 'v');
    const deadline = Date.now() + 5000;
    while ((await cache.has('brief')) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(await cache.get('brief'), undefined);
    await cache.set('later', 'v');
    assert.equal(await cache.expire('later', 0.02), true);
    assert.equal(await cache.expire('gone', 10), false);
  });

  it('refuses an own __proto__ key (it could not arrive as sent), never polluting prototypes', async () => {
    const forged = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
    await assert.rejects(cache.set('proto', forged), {
      code: 'PB_SERIALIZATION',
      message: /own "__proto__" key at value\.__proto__/,
    });
    assert.equal(await cache.get('proto'), undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    // constructor.prototype is plain data.
    const plain = { constructor: { prototype: { polluted: true } }, a: 1 };
    await cache.set('plain', plain);
    assert.deepEqual(await cache.get('plain'), plain);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('multi() answers in order, applies atomically, and reports a bad operation at exec()', async () => {
    await cache.set('m:old', 'o');
    const results = await cache
      .multi()
      .get('m:a')
      .set('m:a', { v: 1 }, { ttl: 60 })
      .get('m:a')
      .expire('m:a', 120)
      .expire('m:none', 120)
      .delete('m:old')
      .delete('m:old')
      .exec();
    assert.deepEqual(results, [undefined, true, { v: 1 }, true, false, true, false]);
    assert.deepEqual(await cache.multi().exec(), []);

    // One bad operation: exec rejects with it and nothing is applied.
    const bad = cache.multi().set('m:b', 1).set('m:c', undefined).set('m:d', 1);
    assert.equal(bad.length, 1);
    await assert.rejects(bad.exec(), { code: 'PB_VALIDATION' });
    assert.equal(await cache.has('m:b'), false);
    await assert.rejects(cache.multi().expire('m:b', -1).exec(), { code: 'PB_VALIDATION' });
    await assert.rejects(cache.multi().get('').exec(), { code: 'PB_VALIDATION' });

    // A batch runs once.
    const once = cache.multi().set('m:e', 1);
    await once.exec();
    await assert.rejects(once.exec(), /ran already/);
  });

  it('getEntry and setIfVersion: compare-and-set across plugins', async () => {
    assert.equal(await cache.getEntry('cas'), undefined);
    assert.equal(await cache.setIfVersion('cas', 1, null), true);
    assert.equal(await other.setIfVersion('cas', 2, null), false);
    const entry = (await other.getEntry<number>('cas'))!;
    assert.equal(entry.value, 1);
    assert.equal(await other.setIfVersion('cas', 2, entry.version, { ttl: 60 }), true);
    assert.equal(await cache.setIfVersion('cas', 3, entry.version), false, 'stale version');
    assert.equal(await cache.get('cas'), 2);
  });

  it('update() retries on a concurrent write and resolves with the stored value', async () => {
    await cache.set('counter', 0);
    let calls = 0;
    const stored = await cache.update<number>('counter', async (n) => {
      calls++;
      // Another writer slips in during the first attempt only.
      if (calls === 1) await other.set('counter', 10);
      return (n ?? 0) + 1;
    });
    assert.equal(calls, 2);
    assert.equal(stored, 11);
    assert.equal(await cache.get('counter'), 11);
    // A missing key: the function sees undefined, and the write is "only if still absent".
    assert.equal(await cache.update<number>('fresh', (n) => (n ?? 41) + 1, { ttl: 60 }), 42);
  });

  it('update() gives up with CacheConflictError after maxAttempts lost races', async () => {
    await cache.set('hot', 0);
    let calls = 0;
    await assert.rejects(
      cache.update<number>(
        'hot',
        async (n) => {
          calls++;
          await other.set('hot', 100 + calls); // someone always writes first
          return (n ?? 0) + 1;
        },
        { maxAttempts: 3 },
      ),
      (error: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(error.code, 'PB_CACHE_CONFLICT');
        assert.equal(error.details?.['maxAttempts'], 3);
        return true;
      },
    );
    assert.equal(calls, 3);
    await assert.rejects(
      cache.update('hot', () => undefined),
      { code: 'PB_VALIDATION' },
    );
  });

  it('concurrent update() calls lose no increment', async () => {
    await cache.set('inc', 0);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? cache : other).update<number>('inc', (n) => n! + 1, { maxAttempts: 100 }),
      ),
    );
    assert.equal(await cache.get('inc'), 20);
  });

  it('rejects every call with ContextClosedError once the plugin stopped', async () => {
    const scoped = rt.scoped('cache-stopping');
    const stopping = scoped.context.cache;
    await scoped.release(1000);
    await assert.rejects(stopping.get('x'), { code: 'PB_CONTEXT_CLOSED' });
    await assert.rejects(stopping.set('x', 1), { code: 'PB_CONTEXT_CLOSED' });
    await assert.rejects(stopping.multi().get('x').exec(), { code: 'PB_CONTEXT_CLOSED' });
    await assert.rejects(
      stopping.update('x', () => 1),
      { code: 'PB_CONTEXT_CLOSED' },
    );
  });
});

describe('cache.maxValueBytes (host option)', () => {
  it('bounds encoded values, defaulting to limits.maxPayloadBytes', async () => {
    let small!: PluginContext;
    const host = await createHost({
      logger: silentLogger,
      cache: { maxValueBytes: 100 },
      limits: { maxPayloadBytes: 10_000 },
      plugins: [
        definePlugin({ name: 'sized', version: '1.0.0', activate: (c) => void (small = c) }),
      ],
    });
    await host.start();
    try {
      await small.cache.set('fits', 'x'.repeat(50));
      await assert.rejects(
        small.cache.set('big', 'x'.repeat(200)),
        (error: Error & { code?: string; details?: Record<string, unknown> }) => {
          assert.equal(error.code, 'PB_PAYLOAD_TOO_LARGE');
          assert.equal(error.details?.['limit'], 100);
          assert.match(error.message, /maxValueBytes/);
          return true;
        },
      );
      await assert.rejects(small.cache.multi().set('big', 'x'.repeat(200)).exec(), {
        code: 'PB_PAYLOAD_TOO_LARGE',
      });
      await assert.rejects(
        small.cache.update('big', () => 'x'.repeat(200)),
        {
          code: 'PB_PAYLOAD_TOO_LARGE',
        },
      );
      assert.equal(await small.cache.has('big'), false);
    } finally {
      await host.stop();
    }

    // Default: the payload limit.
    const rt = await startRuntime({ limits: { maxPayloadBytes: 2048 } });
    try {
      const c = rt.ctx('p').cache;
      await c.set('ok', 'x'.repeat(1500));
      await assert.rejects(c.set('big', 'x'.repeat(3000)), { code: 'PB_PAYLOAD_TOO_LARGE' });
    } finally {
      await rt.close();
    }
  });

  it('may exceed maxPayloadBytes (the cache has its own limit)', async () => {
    let c!: PluginContext;
    const host = await createHost({
      logger: silentLogger,
      cache: { maxValueBytes: 4096 },
      limits: { maxPayloadBytes: 1024 },
      plugins: [definePlugin({ name: 'p', version: '1.0.0', activate: (x) => void (c = x) })],
    });
    await host.start();
    try {
      await c.cache.set('big', 'x'.repeat(3000));
      assert.equal((await c.cache.get<string>('big'))?.length, 3000);
    } finally {
      await host.stop();
    }
  });

  it('is validated by createHost', async () => {
    for (const cache of [
      null,
      5,
      { maxValueBytes: 0 },
      { maxValueBytes: 1.5 },
      { maxValueBytes: '1' },
    ])
      await assert.rejects(createHost({ logger: silentLogger, cache: cache as never }), {
        code: 'PB_VALIDATION',
      });
  });
});
