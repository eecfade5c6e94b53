/**
 * The chapter's data-sync example, as written there, through a real host and
 * `context.dataSync`, on the embedded backend and on Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { until } from '../conformance/harness.js';
import { chapterHost, type ChapterHost } from './chapter-host.js';

for (const [label, redis] of [
  ['embedded backend', false],
  ['Redis', true],
] as const) {
  describe(`the chapter's data-sync example (${label})`, () => {
    let host: ChapterHost;
    let plugins: { a: PluginContext; b: PluginContext };
    before(async () => {
      host = await chapterHost(redis, ['plugin-a', 'plugin-b']);
      plugins = { a: host.contexts['plugin-a']!, b: host.contexts['plugin-b']! };
    });
    after(() => host.stop());

    it('watch and sync as written', async () => {
      const context = plugins.a;
      const emails: unknown[] = [];
      const cached: unknown[] = [];
      const sendWelcomeEmail = async (user: unknown) => void emails.push(user);
      const updateUserCache = async (user: unknown) => void cached.push(user);
      // Recorded before the watch starts: only sync() brings them.
      await plugins.b.dataSync.publish('users', {
        type: 'create',
        id: 'u1',
        data: { name: 'Ann' },
      });
      await plugins.b.dataSync.publish('users', {
        type: 'update',
        id: 'u1',
        data: { name: 'Anna' },
      });

      // 监听数据变化
      context.dataSync.watch('users', async (change) => {
        if (change.type === 'create') {
          await sendWelcomeEmail(change.data);
        } else if (change.type === 'update') {
          await updateUserCache(change.data);
        }
      });

      // 同步数据
      // prettier-ignore
      await context.dataSync.sync('users', {
        from: '2024-01-01',
        to: '2024-01-31'
      });

      // Nothing was recorded in January 2024; this month's range replays both changes.
      assert.deepEqual([emails, cached], [[], []]);
      const month = new Date().toISOString().slice(0, 7);
      const replayed = await context.dataSync.sync('users', {
        from: `${month}-01`,
        to: new Date(Date.now() + 60_000),
      });
      assert.equal(replayed, 2);
      assert.deepEqual(emails, [{ name: 'Ann' }]);
      assert.deepEqual(cached, [{ name: 'Anna' }]);
      // Live changes reach the watcher too.
      await plugins.b.dataSync.publish('users', { type: 'create', id: 'u2', data: { name: 'Bo' } });
      await until(() => emails.length === 2, 5000, 'the live change');
      assert.deepEqual(emails[1], { name: 'Bo' });
    });
  });
}
