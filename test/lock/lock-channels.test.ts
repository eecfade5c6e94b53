/** Lingering wake-up channels of Redis locks: kept a while, bounded, released on close. */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import pino from 'pino';
import { LINGER_MS, LockChannels, MAX_LINGERING } from '../../src/backends/redis/lock-channels.js';
import type { SubscriptionHub } from '../../src/backends/redis/subscriptions.js';

/** A hub that confirms every SUBSCRIBE at once and counts what Redis would hold. */
function fakeHub(): {
  hub: SubscriptionHub;
  subscribed: Map<string, number>;
  publish: (c: string, m: string) => void;
} {
  const subscribed = new Map<string, number>();
  const handlers = new Map<string, Set<(m: Buffer) => void>>();
  const hub = {
    add: (channel: string, handler: (m: Buffer) => void) => {
      subscribed.set(channel, (subscribed.get(channel) ?? 0) + 1);
      const set = handlers.get(channel) ?? new Set();
      handlers.set(channel, set.add(handler));
      return Promise.resolve(() => {
        set.delete(handler);
        subscribed.set(channel, (subscribed.get(channel) ?? 1) - 1);
        if (subscribed.get(channel) === 0) subscribed.delete(channel);
        return Promise.resolve();
      });
    },
  } as unknown as SubscriptionHub;
  const publish = (c: string, m: string): void => {
    for (const h of handlers.get(c) ?? []) h(Buffer.from(m));
  };
  return { hub, subscribed, publish };
}

const decode = (m: Buffer): [string?] => (m.length > 0 ? [m.toString()] : []);
const logger = pino({ level: 'silent' });

describe('LockChannels', () => {
  it('keeps a channel subscribed after its last watcher, then drops it after the linger', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { hub, subscribed, publish } = fakeHub();
      const channels = new LockChannels(hub, logger);
      const heard: (string | undefined)[] = [];
      const first = await channels.watch('ch', (next) => heard.push(next), decode);
      assert.equal(channels.isLive('ch'), true);
      publish('ch', 'owner-1');
      assert.deepEqual(heard, ['owner-1']);
      await first.close();
      assert.equal(subscribed.get('ch'), 1, 'still subscribed while lingering');
      assert.equal(channels.lingering, 1);
      // A new watcher reuses the subscription (no second SUBSCRIBE).
      const second = await channels.watch('ch', () => undefined, decode);
      assert.equal(subscribed.get('ch'), 1);
      assert.equal(channels.lingering, 0);
      await second.close();
      mock.timers.tick(LINGER_MS);
      await Promise.resolve();
      assert.equal(subscribed.has('ch'), false, 'unsubscribed after the linger');
      assert.equal(channels.isLive('ch'), false);
      assert.equal(channels.lingering, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('bounds the idle channels, dropping the oldest, and releases all on close', async () => {
    const { hub, subscribed } = fakeHub();
    const channels = new LockChannels(hub, logger);
    for (let i = 0; i < MAX_LINGERING + 5; i++) {
      const watch = await channels.watch(`ch${i}`, () => undefined, decode);
      await watch.close();
    }
    assert.equal(channels.lingering, MAX_LINGERING);
    assert.equal(subscribed.size, MAX_LINGERING);
    assert.equal(channels.isLive('ch0'), false, 'the oldest idle channel was dropped');
    assert.equal(channels.isLive(`ch${MAX_LINGERING + 4}`), true);
    // A dropped subscriber connection: nothing counts as live until subscribed afresh.
    channels.wakeAll();
    assert.equal(channels.isLive(`ch${MAX_LINGERING + 4}`), false);
    const active = await channels.watch('busy', () => undefined, decode);
    let woken = false;
    await active.close();
    const held = await channels.watch('held', () => (woken = true), decode);
    channels.close();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(subscribed.size, 0, 'close unsubscribes everything');
    assert.equal(channels.lingering, 0);
    assert.equal(woken, true, 'a watcher still waiting is woken on close');
    await held.close();
  });
});
