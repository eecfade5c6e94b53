/**
 * The chapter's audit example, run as written through `context.auditLogger` on the embedded
 * backend and on Redis: `log` is called without `await`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { chapterHost, type ChapterHost } from './chapter-host.js';

for (const redis of [false, true]) {
  void describe(`chapter: audit log (${redis ? 'redis' : 'memory'})`, () => {
    let host: ChapterHost;
    let context: PluginContext;
    before(async () => {
      host = await chapterHost(redis, ['user-service']);
      context = host.contexts['user-service']!;
    });
    after(() => host.stop());

    void it('log({ action, actor, target, metadata, timestamp }) without await; query and verify see it', async () => {
      const userId = 'user-42';
      // As written in the chapter:
      // eslint-disable-next-line @typescript-eslint/no-floating-promises -- the point: log() needs no await
      context.auditLogger.log({
        action: 'user.created',
        actor: 'system',
        target: userId,
        metadata: { ipAddress: '192.168.1.1', userAgent: 'Claude Code' },
        timestamp: new Date(),
      });
      let found: Awaited<ReturnType<PluginContext['auditLogger']['query']>> = [];
      const deadline = Date.now() + 5000;
      while (found.length === 0 && Date.now() < deadline) {
        found = await context.auditLogger.query({ action: 'user.created', target: userId });
        if (found.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(found.length, 1);
      const [entry] = found;
      assert.deepEqual(
        {
          actor: entry!.actor,
          plugin: entry!.plugin,
          nodeId: entry!.nodeId,
          metadata: entry!.metadata,
        },
        {
          actor: 'system',
          plugin: 'user-service',
          nodeId: context.nodeId,
          metadata: { ipAddress: '192.168.1.1', userAgent: 'Claude Code' },
        },
      );
      assert.match(entry!.hash, /^[0-9a-f]{64}$/);
      assert.ok(Math.abs(entry!.timestamp - Date.now()) < 60_000);
      const result = await context.auditLogger.verify();
      assert.equal(result.ok, true);
      assert.ok(result.checked >= 2, 'the host activating the plugin, then the entry');
    });
  });
}
