/**
 * Redis (a throwaway server without persistence) restarts while locks are held: every lock key
 * is gone. The holders learn that they lost their locks (an auto-extended lock's extension is
 * refused and its signal fires; an explicit `extend()` or `release()` rejects with
 * `LockNotHeldError`), and the fencing tokens granted after the restart exceed every token
 * granted before it, so the fenced resources (kept on another Redis) refuse the old holders.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { HeldInfo, LockNodeCommand } from './fixtures/lock-node.js';
import { lostVia, type LockProcess } from './lock-process.js';
import { figure, useLockPair } from './support.js';

const NOT_HELD = { code: 'PB_LOCK_NOT_HELD' };
/** Errors of a backend that is reconnecting: the operation did not settle, try again. */
const TRANSIENT = new Set(['PB_BACKEND_UNAVAILABLE', 'PB_TIMEOUT']);

/** Run `command`, again while it fails transiently (Redis coming back), for at most `ms`. */
async function settled<T>(node: LockProcess, command: LockNodeCommand, ms: number): Promise<T> {
  const giveUp = Date.now() + ms;
  for (;;) {
    try {
      return await node.run<T>(command, ms);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (!TRANSIENT.has(code) || Date.now() > giveUp) throw error;
      await delay(50); // a client's back-off while Redis restarts
    }
  }
}

describe(
  'locks: Redis restarts without persistence while locks are held',
  { timeout: 60_000 },
  () => {
    const pair = useLockPair('lock-restart', { ownServer: true, operationTimeout: 1000 });

    it('tells the holders they lost their locks; new tokens exceed all old ones', async (t) => {
      const { holder, rival, server } = pair;
      const hold = (
        node: LockProcess,
        id: string,
        resource: string,
        ttl: number,
        autoExtend: boolean,
      ) =>
        settled<HeldInfo>(
          node,
          { cmd: 'hold', id, resource, ttl, autoExtend, waitTimeout: 10_000 },
          15_000,
        );
      // Older grants first, so each resource has a history of tokens before the restart.
      for (const resource of ['auto', 'plain', 'other']) {
        await hold(rival, `warm-${resource}`, resource, 5000, false);
        await rival.run({ cmd: 'release', id: `warm-${resource}` });
      }
      const old = {
        auto: await hold(holder, 'auto', 'auto', 1000, true),
        plain: await hold(holder, 'plain', 'plain', 20_000, false),
        other: await hold(rival, 'other', 'other', 20_000, false),
      };
      for (const [node, id] of [
        [holder, 'auto'],
        [holder, 'plain'],
        [rival, 'other'],
      ] as const) {
        assert.equal(await node.run({ cmd: 'write', id }), true, `${id}: first write`);
      }
      const oldTop = Math.max(...Object.values(old).map((held) => held.token));

      const restartedAt = Date.now();
      await server.restart();
      figure(t, 'redis-server restarted (SIGKILL, fresh start)', Date.now() - restartedAt, 'ms');

      // The auto-extended lock: its next extension is refused, so it reports the loss by itself.
      const autoLost = await holder.next(lostVia('auto', 'signal'), 15_000, 'auto: lost signal');
      await holder.next(lostVia('auto', 'onLost'), 1000, 'auto: onLost');
      figure(
        t,
        'auto-extended lock (ttl 1000 ms): lost signal after the restart',
        autoLost.at - restartedAt,
        'ms',
      );

      // The plain lock (ttl 20 s) learns when its holder next talks to Redis: extend is refused.
      await assert.rejects(
        settled(holder, { cmd: 'extend', id: 'plain', ttl: 20_000 }, 15_000),
        NOT_HELD,
      );
      const plainLost = await holder.next(lostVia('plain', 'signal'), 5000, 'plain: lost signal');
      figure(
        t,
        'plain lock: extend refused, lost signal after the restart',
        plainLost.at - restartedAt,
        'ms',
      );

      // New grants, on both processes, each above every token granted before the restart.
      const fresh = {
        auto: await hold(rival, 'auto2', 'auto', 5000, false),
        plain: await hold(rival, 'plain2', 'plain', 5000, false),
        other: await hold(holder, 'other2', 'other', 5000, false),
      };
      figure(t, 'first new grant after the restart', fresh.auto.grantedAt - restartedAt, 'ms');
      for (const resource of ['auto', 'plain', 'other'] as const) {
        assert.ok(
          fresh[resource].token > oldTop,
          `${resource}: new token ${fresh[resource].token} ≤ an old token (${oldTop})`,
        );
      }
      figure(
        t,
        'lowest new token − highest old token',
        Math.min(...Object.values(fresh).map((h) => h.token)) - oldTop,
        'µs',
      );

      // The fence takes the new holders and refuses the old ones.
      for (const [node, id] of [
        [rival, 'auto2'],
        [rival, 'plain2'],
        [holder, 'other2'],
      ] as const) {
        assert.equal(await node.run({ cmd: 'write', id }), true, `${id}: new holder's write`);
      }
      for (const [node, id] of [
        [holder, 'auto'],
        [holder, 'plain'],
        [rival, 'other'],
      ] as const) {
        assert.equal(
          await node.run({ cmd: 'write', id }),
          false,
          `${id}: old holder's write accepted`,
        );
      }
      // The old rival lock never heard of the restart; its release is refused, its signal fires.
      await assert.rejects(rival.run({ cmd: 'release', id: 'other' }), NOT_HELD);
      await assert.rejects(rival.run({ cmd: 'extend', id: 'other', ttl: 1000 }), NOT_HELD);
      await rival.next(lostVia('other', 'signal'), 5000, 'other: lost signal');
      await assert.rejects(holder.run({ cmd: 'release', id: 'auto' }), NOT_HELD);

      // ... and the new locks are untouched by all that.
      for (const [node, id] of [
        [rival, 'auto2'],
        [rival, 'plain2'],
        [holder, 'other2'],
      ] as const) {
        await node.run({ cmd: 'release', id });
      }
    });
  },
);
