import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginContext } from '../../../src/context/types.js';
import { createHost, definePlugin } from '../../../src/host/index.js';
import { silentLogger } from '../../support/runtime.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
} from '../../backends/redis/support.js';
import { KEY } from './sinks.js';

void describe('audit log on Redis: several hosts writing at once', () => {
  void it('3 hosts logging 300 entries at once form one linear chain that verifies', async () => {
    const namespace = uniqueNamespace('audit-conc');
    const contexts: PluginContext[] = [];
    const hosts = await Promise.all(
      ['h1', 'h2', 'h3'].map(async (nodeId) => {
        const host = await createHost({
          nodeId,
          logger: silentLogger,
          backend: { redis: SHARED_REDIS_URL, namespace },
          audit: { checkpointKey: KEY },
          plugins: [
            definePlugin({
              name: `writer-${nodeId}`,
              version: '1.0.0',
              activate: (c) => void contexts.push(c),
            }),
          ],
        });
        await host.start();
        return host;
      }),
    );
    try {
      const written = await Promise.all(
        contexts.flatMap((c) =>
          Array.from({ length: 100 }, (_, i) =>
            c.auditLogger.log({ action: 'order.placed', actor: c.nodeId, target: `o-${i}` }),
          ),
        ),
      );
      const seqs = written.map((e) => e.seq).sort((a, b) => a - b);
      assert.equal(new Set(seqs).size, 300, 'no two entries share a place');
      const all = await contexts[0]!.auditLogger.query({ limit: 1000 });
      // The three hosts' own lifecycle entries are in the same chain.
      assert.deepEqual(
        all.map((e) => e.seq),
        Array.from({ length: all.length }, (_, i) => i + 1),
      );
      assert.equal(all.filter((e) => e.action === 'order.placed').length, 300);
      for (const nodeId of ['h1', 'h2', 'h3']) {
        const mine = all.filter((e) => e.action === 'order.placed' && e.nodeId === nodeId);
        assert.equal(mine.length, 100);
        assert.ok(mine.every((e) => e.plugin === `writer-${nodeId}` && e.actor === nodeId));
      }
      const result = await contexts[2]!.auditLogger.verify();
      assert.deepEqual(result, { ok: true, checked: all.length, head: all.length, anchored: true });
    } finally {
      await Promise.all(hosts.map((h) => h.stop()));
      await deleteNamespace(SHARED_REDIS_URL, namespace);
    }
  });
});
