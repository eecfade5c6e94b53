/**
 * Redis (a throwaway server) frozen with SIGSTOP while a process holds an auto-extended lock:
 * its extensions get no answer, so the holder counts the lock as lost at its own expiry (it
 * cannot know whether Redis still keeps it), before anyone else can be granted it. After the
 * thaw another process gets the lock with a higher token, and the old holder's release is
 * refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lostVia } from './lock-process.js';
import { figure, useLockPair } from './support.js';

const TTL = 600;

describe(
  'locks: Redis frozen (SIGSTOP) while an auto-extended lock is held',
  { timeout: 60_000 },
  () => {
    const pair = useLockPair('lock-freeze', { ownServer: true, operationTimeout: 1000 });

    it('the holder counts it lost at its own expiry; after the thaw a higher token takes it', async (t) => {
      const { holder, rival, server } = pair;
      const old = await holder.hold('job', 'job', { ttl: TTL, autoExtend: true });
      assert.equal(await holder.run({ cmd: 'write', id: 'job' }), true);
      const frozenAt = Date.now();
      server.pause();
      let lostAt: number;
      try {
        const lost = await holder.next(
          lostVia('job', 'signal'),
          10_000,
          'job: lost signal while Redis is frozen',
        );
        lostAt = lost.at;
        figure(t, 'holder’s lost signal after Redis froze', lost.at - frozenAt, 'ms');
        // Lost once its last known expiry passed, not before, and within one TTL of the freeze.
        assert.ok(lost.at >= lost.expiresAt, `signalled ${lost.expiresAt - lost.at} ms early`);
        assert.ok(
          lost.expiresAt <= frozenAt + TTL,
          'an extension sent while frozen moved expiresAt',
        );
      } finally {
        server.resume();
      }
      const thawedAt = Date.now();
      figure(t, 'Redis frozen for', thawedAt - frozenAt, 'ms');
      const fresh = await rival.hold('job', 'job', {
        ttl: 5000,
        autoExtend: false,
        waitTimeout: 10_000,
      });
      figure(t, 'rival granted after the thaw', fresh.grantedAt - thawedAt, 'ms');
      assert.ok(fresh.token > old.token);
      assert.ok(
        fresh.grantedAt > lostAt,
        'granted before the old holder knew it had lost the lock',
      );
      assert.equal(await rival.run({ cmd: 'write', id: 'job' }), true);
      assert.equal(await holder.run({ cmd: 'write', id: 'job' }), false, 'stale write accepted');
      await assert.rejects(holder.run({ cmd: 'release', id: 'job' }), { code: 'PB_LOCK_NOT_HELD' });
      await rival.run({ cmd: 'extend', id: 'job', ttl: 5000 }); // the stale release touched nothing
      await rival.run({ cmd: 'release', id: 'job' });
    });
  },
);
