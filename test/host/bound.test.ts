import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../../src/errors/errors.js';
import { settleWithin, withDeadline } from '../../src/util/bound.js';
import { Deadlines } from '../../src/util/deadlines.js';

void describe('the deadline scheduler and withDeadline', () => {
  void it('fires absolute deadlines in time order, never early, and cancels', async () => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    const now = Date.now();
    const all = new Promise<void>((resolve) => {
      deadlines.at(now + 60, () => {
        fired.push(`b@${Date.now() - now}`);
        resolve();
      });
    });
    deadlines.at(now + 20, () => fired.push(`a@${Date.now() - now}`));
    const cancelled = deadlines.at(now + 30, () => fired.push('never'));
    assert.equal(deadlines.size, 3);
    assert.equal(cancelled.cancel(), true);
    assert.equal(cancelled.cancel(), false);
    await all;
    assert.deepEqual(
      fired.map((f) => f.split('@')[0]),
      ['a', 'b'],
    );
    assert.ok(Number(fired[0]!.split('@')[1]) >= 20, fired.join());
    assert.ok(Number(fired[1]!.split('@')[1]) >= 60, fired.join());
    assert.equal(deadlines.size, 0);
    deadlines.close();
  });

  void it('fires NaN deadlines at once instead of never', async () => {
    const deadlines = new Deadlines();
    await new Promise<void>((resolve) => deadlines.add(Number.NaN, resolve));
    await new Promise<void>((resolve) => deadlines.at(Number.NaN, resolve));
    deadlines.close();
  });

  void it('fires pending absolute deadlines on close', () => {
    const deadlines = new Deadlines({ keepAlive: false });
    let fired = 0;
    deadlines.at(Date.now() + 60_000, () => fired++);
    deadlines.add(60_000, () => fired++);
    deadlines.close();
    assert.equal(fired, 2);
  });

  void it('withDeadline settles like the work, or rejects with the timeout error', async () => {
    const deadlines = new Deadlines();
    assert.equal(await withDeadline(Promise.resolve(3), 1000, () => new Error('x'), deadlines), 3);
    await assert.rejects(
      withDeadline(Promise.reject(new Error('own')), 1000, () => new Error('x'), deadlines),
      /own/,
    );
    await assert.rejects(
      withDeadline(new Promise(() => undefined), 20, () => new TimeoutError('late'), deadlines),
      TimeoutError,
    );
    // A synchronous throw becomes a rejection, never a throw.
    const thrown = withDeadline(
      () => {
        throw new Error('sync');
      },
      1000,
      () => new Error('x'),
      deadlines,
    );
    await assert.rejects(thrown, /sync/);
    assert.equal(deadlines.size, 0);
    deadlines.close();
  });

  void it('treats a NaN or negative bound as passed, never as forever', async () => {
    assert.deepEqual(await settleWithin(new Promise(() => undefined), Number.NaN), {
      status: 'timeout',
    });
    assert.deepEqual(await settleWithin(new Promise(() => undefined), -5), { status: 'timeout' });
  });

  void it('settleWithin reports ok, failed and timeout without rejecting', async () => {
    assert.deepEqual(await settleWithin(() => 1, 100), { status: 'ok', value: 1 });
    const failed = await settleWithin(() => Promise.reject(new Error('f')), 100);
    assert.equal(failed.status, 'failed');
    assert.deepEqual(await settleWithin(new Promise(() => undefined), 20), { status: 'timeout' });
  });
});
