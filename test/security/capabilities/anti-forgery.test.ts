import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventMeta } from '../../../src/bus/types.js';
import type { QueueMessage } from '../../../src/queue/message-types.js';
import { capsHost } from './caps-host.js';

/**
 * A plugin cannot pass itself off as another: the names the host writes (an event's
 * `meta.source`, a queue message's `sender`, an audit entry's `plugin`) come from the context
 * the plugin was given, never from what the plugin writes.
 */
for (const redis of [false, true]) {
  void describe(`a plugin cannot forge another's name (${redis ? 'Redis' : 'memory'})`, () => {
    void it('in events, queue messages and audit entries', async () => {
      const env = await capsHost(redis, { alice: undefined, mallory: undefined });
      try {
        const { alice, mallory } = env.contexts;
        // Events: whatever the data claims, meta.source is the publisher.
        const metas: EventMeta[] = [];
        const errors: Array<{ meta: EventMeta; data: unknown }> = [];
        const got = new Promise<void>((resolve) => {
          alice!.eventBus.subscribe('order.created', (_data, _next, meta) => {
            metas.push(meta);
            resolve();
          });
        });
        const forgedError = new Promise<void>((resolve) => {
          alice!.eventBus.subscribe('plugin.error', (data, _next, meta) => {
            errors.push({ meta, data });
            resolve();
          });
        });
        await mallory!.eventBus.publish('order.created', {
          source: 'alice',
          meta: { source: 'alice' },
        });
        await mallory!.eventBus.publish('plugin.error', { pluginId: 'alice', error: 'forged' });
        await got;
        await forgedError;
        assert.equal(metas[0]!.source, 'mallory');
        // A forged plugin.error says "alice" in its data, but its source is mallory, not the host.
        assert.equal(errors[0]!.meta.source, 'mallory');

        // Queue messages: headers are the sender's words, `sender` is the host's.
        const received = new Promise<QueueMessage>((resolve) => {
          alice!.messageQueue.receive('forgery.jobs', (message) => resolve(message));
        });
        await mallory!.messageQueue.send(
          'forgery.jobs',
          { from: 'alice' },
          { headers: { sender: 'alice', source: 'alice' } },
        );
        const message = await received;
        assert.equal(message.sender, 'mallory');
        assert.deepEqual(message.headers, { sender: 'alice', source: 'alice' });

        // Audit: the actor is what the plugin says it acted for; `plugin` is who wrote it, and
        // an entry that tries to set it is refused outright.
        await assert.rejects(
          mallory!.auditLogger.log({
            action: 'user.deleted',
            actor: 'alice',
            target: 'u1',
            plugin: 'alice',
          } as never),
          { name: 'ValidationError' },
        );
        const entry = await mallory!.auditLogger.log({
          action: 'user.deleted',
          actor: 'alice',
          target: 'u1',
        });
        assert.equal(entry.plugin, 'mallory');
        const found = await alice!.auditLogger.query({ action: 'user.deleted' });
        assert.deepEqual(
          found.map((e) => [e.actor, e.plugin]),
          [['alice', 'mallory']],
        );
      } finally {
        await env.stop();
      }
    });
  });
}
