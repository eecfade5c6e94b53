/**
 * A lock holder frozen with SIGSTOP past its TTL: another process takes the lock with a higher
 * fencing token; once the holder runs again its fenced write is refused, its `release()` and
 * `extend()` reject with `LockNotHeldError`, and its lost signal fires (`lock.signal` aborts and
 * `onLost` listeners run). It holds two locks across the pause: one without auto-extension and
 * one with it (whose extension timer cannot run while frozen).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lostVia } from './lock-process.js';
import { fenceState, figure, useLockPair } from './support.js';

const TTL = 500;
const NOT_HELD = { code: 'PB_LOCK_NOT_HELD', name: 'LockNotHeldError' };

describe('locks: a holder paused with SIGSTOP past its TTL', { timeout: 60_000 }, () => {
  const pair = useLockPair('lock-stop');

  it('loses the lock to a higher token; its write, release and extend are refused; its signal fires', async (t) => {
    const { holder, rival, where } = pair;
    const plain = await holder.hold('plain', 'ledger', { ttl: TTL, autoExtend: false });
    const auto = await holder.hold('auto', 'journal', { ttl: TTL, autoExtend: true });
    assert.equal(await holder.run({ cmd: 'write', id: 'plain' }), true, 'a fresh holder writes');
    assert.equal(await holder.run({ cmd: 'write', id: 'auto' }), true);

    const frozenAt = Date.now();
    holder.pause();
    const whileFrozen = async (): Promise<number> => {
      // The rival waits in line; it gets each lock once the frozen holder's TTL has run out.
      const [ledger, journal] = await Promise.all([
        rival.hold('ledger', 'ledger', { ttl: 10_000, autoExtend: false, waitTimeout: 10_000 }),
        rival.hold('journal', 'journal', { ttl: 10_000, autoExtend: false, waitTimeout: 10_000 }),
      ]);
      figure(t, 'rival granted the plain lock after the freeze', ledger.grantedAt - frozenAt, 'ms');
      figure(
        t,
        'rival granted the auto-extended lock after the freeze',
        journal.grantedAt - frozenAt,
        'ms',
      );
      assert.ok(ledger.token > plain.token, `rival token ${ledger.token} ≤ frozen ${plain.token}`);
      assert.ok(journal.token > auto.token, `rival token ${journal.token} ≤ frozen ${auto.token}`);
      assert.ok(
        ledger.grantedAt >= plain.expiresAt,
        'rival granted before the frozen lock expired',
      );
      assert.ok(journal.grantedAt >= auto.expiresAt);
      assert.equal(await rival.run({ cmd: 'write', id: 'ledger' }), true);
      assert.equal(await rival.run({ cmd: 'write', id: 'journal' }), true);
      return ledger.token;
    };
    const rivalToken = await whileFrozen().finally(() => holder.resume());
    const thawedAt = Date.now();
    figure(t, 'holder frozen for', thawedAt - frozenAt, 'ms');

    // The resumed holder writes as if it still held the locks: the fence refuses both.
    assert.equal(await holder.run({ cmd: 'write', id: 'plain' }), false, 'stale write accepted');
    assert.equal(await holder.run({ cmd: 'write', id: 'auto' }), false, 'stale write accepted');

    for (const id of ['plain', 'auto']) {
      const [viaSignal, viaOnLost] = await Promise.all([
        holder.next(lostVia(id, 'signal'), 5000, `${id}: lock.signal aborted`),
        holder.next(lostVia(id, 'onLost'), 5000, `${id}: onLost called`),
      ]);
      figure(t, `${id}: lost signal after the thaw`, Math.max(0, viaSignal.at - thawedAt), 'ms');
      assert.ok(viaOnLost.at >= frozenAt);
      await assert.rejects(holder.run({ cmd: 'extend', id, ttl: TTL }), NOT_HELD);
      await assert.rejects(holder.run({ cmd: 'release', id }), NOT_HELD);
    }

    // The stale holder touched nothing: the rival still holds both, extends and writes.
    assert.equal(
      await holder.run({ cmd: 'tryAcquire', id: 'again', resource: 'ledger', ttl: TTL }),
      null,
    );
    await rival.run({ cmd: 'extend', id: 'ledger', ttl: 10_000 });
    await rival.run({ cmd: 'extend', id: 'journal', ttl: 10_000 });
    assert.equal(await rival.run({ cmd: 'write', id: 'ledger' }), true);
    assert.ok(!rival.events.some((e) => e.type === 'lost'), 'the rival lost a lock');
    await rival.run({ cmd: 'release', id: 'ledger' });
    await rival.run({ cmd: 'release', id: 'journal' });

    const fence = await fenceState(where.namespace, 'ledger');
    assert.equal(fence.top, rivalToken, 'the fence keeps the rival’s token');
    figure(t, 'fenced ledger: writes accepted / highest token', `${fence.accepted} / ${fence.top}`);
    assert.equal(fence.accepted, 3, 'holder once before the freeze, rival twice');
  });
});
