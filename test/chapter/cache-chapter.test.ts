/**
 * The chapter's cache example, as written there, through a real host and `context.cache`, on
 * the embedded backend and on Redis: set with a TTL in seconds, get, delete, and a multi() of
 * set, set, expire applied atomically by exec().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { chapterHost, type ChapterHost } from './chapter-host.js';

for (const [label, redis] of [
  ['embedded backend', false],
  ['Redis', true],
] as const) {
  describe(`the chapter's cache example (${label})`, () => {
    let host: ChapterHost;
    let plugins: { a: PluginContext; b: PluginContext };
    before(async () => {
      host = await chapterHost(redis, ['plugin-a', 'plugin-b']);
      plugins = { a: host.contexts['plugin-a']!, b: host.contexts['plugin-b']! };
    });
    after(() => host.stop());

    it('set with a TTL, get, delete, and multi().set().set().expire().exec()', async () => {
      const context = plugins.a;
      const user1 = { id: '123', name: 'John' };
      const user2 = { id: '456', name: 'Jane' };

      // 设置缓存
      await context.cache.set('user:123', { id: '123', name: 'John' }, { ttl: 3600 });

      // 获取缓存
      const user = await context.cache.get('user:123');
      assert.deepEqual(user, { id: '123', name: 'John' });
      // Another plugin reads the same shared entry.
      assert.deepEqual(await plugins.b.cache.get('user:123'), user);

      // 删除缓存
      await context.cache.delete('user:123');
      assert.equal(await context.cache.get('user:123'), undefined);

      // 批量操作
      const results = await context.cache
        .multi()
        .set('user:123', user1)
        .set('user:456', user2)
        .expire('user:123', 3600)
        .exec();
      assert.deepEqual(results, [true, true, true]);
      assert.deepEqual(await plugins.b.cache.get('user:123'), user1);
      assert.deepEqual(await plugins.b.cache.get('user:456'), user2);
    });
  });
}
