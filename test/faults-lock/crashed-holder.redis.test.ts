/**
 * A holder that stops without releasing (its process killed with SIGKILL, or stuck) sends no
 * wake-up: its waiters must try again as the holder's TTL runs out (each refused attempt tells
 * them how long the holder has left), not a whole `retryInterval` later. Here the waiters'
 * retry interval is 20 s, so a waiter that does not re-check on the holder's remaining TTL is
 * served seconds late (at its wait deadline) instead of milliseconds; the tests allow 1 s.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figure, useLockPair } from './support.js';

/** How late after the holder's `expiresAt` a waiter may be served (measured: under 20 ms). */
const SLACK_MS = 1000;
const waiting = { ttl: 30_000, autoExtend: false, retryInterval: 20_000 } as const;

describe('locks: a holder that never releases', { timeout: 60_000 }, () => {
  const pair = useLockPair('lock-crash');

  it('one at a time: each waiter is served as the holder’s TTL runs out', async (t) => {
    const { holder, rival: waiter } = pair;
    const late: string[] = [];
    let worst = 0;
    for (let round = 0; round < 20; round++) {
      const resource = `seq-${round}`;
      const held = await holder.hold(resource, resource, { ttl: 150, autoExtend: false });
      const got = await waiter.hold(resource, resource, { ...waiting, waitTimeout: 1500 });
      const delay = got.grantedAt - held.expiresAt;
      worst = Math.max(worst, delay);
      if (delay > SLACK_MS) late.push(`${resource}: served ${delay} ms after the holder's expiry`);
      assert.ok(got.token > held.token, resource);
    }
    figure(t, '20 handovers after expiry: latest grant after the holder’s expiresAt', worst, 'ms');
    assert.deepEqual(late, []);
  });

  it('killed with SIGKILL holding 24 locks: every waiter is served as each TTL runs out', async (t) => {
    const { holder, rival: waiter } = pair;
    // The locks run out one after another, 100 ms apart, from 300 ms on.
    const resources = Array.from({ length: 24 }, (_, i) => ({
      resource: `kill-${i}`,
      ttl: 300 + 100 * i,
    }));
    const held = await Promise.all(
      resources.map(({ resource, ttl }) =>
        holder.hold(resource, resource, { ttl, autoExtend: false }),
      ),
    );
    const waits = resources.map(({ resource, ttl }) =>
      waiter.hold(resource, resource, { ...waiting, waitTimeout: ttl + 3000 }),
    );
    await holder.kill();
    const got = await Promise.all(waits);
    const delays = got.map((info, i) => info.grantedAt - held[i]!.expiresAt);
    figure(t, 'grants after the killed holder’s expiresAt, max', Math.max(...delays), 'ms');
    const late = delays.flatMap((delay, i) =>
      delay > SLACK_MS ? [`${resources[i]!.resource}: ${delay} ms`] : [],
    );
    assert.deepEqual(late, []);
    for (const [i, info] of got.entries()) assert.ok(info.token > held[i]!.token);
  });
});
