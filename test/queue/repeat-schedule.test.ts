import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EnqueueOptions, QueueStore } from '../../src/backends/ports.js';
import { PayloadTooLargeError } from '../../src/errors/errors.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { createMemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { compileSchedule } from '../../src/queue/repeat-due.js';
import { RepeatScheduler } from '../../src/queue/repeat-schedule.js';
import { captureLogger } from '../backends/redis/support.js';
import { eventually } from '../support/runtime.js';
import { quiet, recording, twoHostsFireEachDueOnce, type EnqueueCall } from './repeat-support.js';

const at = (iso: string): number => Date.parse(iso);
const payload = new Uint8Array([7]);

describe('repeat schedule: due times', () => {
  it('every: the multiples of `every` since the epoch, strictly after the given time', () => {
    const next = compileSchedule({ every: 1000 }, 'test');
    assert.equal(next(0), 1000);
    assert.equal(next(999), 1000);
    assert.equal(next(1000), 2000);
    assert.equal(next(at('2026-01-01T00:00:00.500Z')), at('2026-01-01T00:00:01Z'));
  });

  it('cron with a time zone: local wall-clock times, across a daylight-saving change', () => {
    const nine = compileSchedule({ cron: '0 9 * * *', timezone: 'America/New_York' }, 'test');
    // 9:00 EST is 14:00 UTC; after the change on 2026-03-08, 9:00 EDT is 13:00 UTC.
    assert.equal(nine(at('2026-03-06T15:00:00Z')), at('2026-03-07T14:00:00Z'));
    assert.equal(nine(at('2026-03-07T15:00:00Z')), at('2026-03-08T13:00:00Z'));
    assert.equal(nine(at('2026-03-08T13:00:00Z')), at('2026-03-09T13:00:00Z'));
    const paris = compileSchedule({ cron: '30 8 * * 1-5', timezone: 'Europe/Paris' }, 'test');
    // Friday 2026-01-02 after 8:30 Paris: the next weekday is Monday 2026-01-05, 7:30 UTC.
    assert.equal(paris(at('2026-01-02T08:00:00Z')), at('2026-01-05T07:30:00Z'));
  });

  it('cron without a time zone is read in UTC; six fields take seconds first', () => {
    assert.equal(
      compileSchedule({ cron: '0 9 * * *' }, 'test')(at('2026-01-01T10:00:00Z')),
      at('2026-01-02T09:00:00Z'),
    );
    assert.equal(
      compileSchedule({ cron: '*/15 * * * * *' }, 'test')(at('2026-01-01T00:00:01.999Z')),
      at('2026-01-01T00:00:15Z'),
    );
  });

  it('refuses bad schedules with a ValidationError that says what is wrong', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ every: 0 }, /"every" must be a whole number of milliseconds, at least 1/],
      [{ every: 1.5 }, /"every" must be a whole number/],
      [{ every: Number.NaN }, /"every" must be a whole number/],
      [{ every: '1000' }, /"every" must be a whole number/],
      [{ cron: '61 * * * *' }, /invalid cron schedule "61 \* \* \* \*".*minute/],
      [{ cron: '' }, /"cron" must be a cron pattern/],
      [{ cron: '0 9 * * *', timezone: 'Mars/Base' }, /in time zone "Mars\/Base"/],
      [{ cron: '0 0 30 2 *' }, /never matches a date/],
      [{}, /must be \{ every \} or \{ cron, timezone\? \}/],
      [null, /must be \{ every \}/],
    ];
    for (const [schedule, message] of bad) {
      assert.throws(
        () => compileSchedule(schedule as never, 'Repeat schedule "x"'),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'PB_VALIDATION');
          assert.match(error.message, /^Repeat schedule "x": /);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });
});

/** A queue store that only records enqueues (and may fail them). */
function fakeStore(fail: () => boolean = () => false): { store: QueueStore; calls: EnqueueCall[] } {
  const calls: EnqueueCall[] = [];
  let seq = 0;
  const store = {
    enqueue(_queue: string, _payload: Uint8Array, options: EnqueueOptions = {}) {
      if (fail()) return Promise.reject(new Error('backend down'));
      const id = `m${++seq}`;
      calls.push({ host: 0, id, options });
      return Promise.resolve(id);
    },
  } as unknown as QueueStore;
  return { store, calls };
}

describe('RepeatScheduler', () => {
  it('refuses an empty name or a bad schedule, and starts nothing after close', () => {
    const scheduler = new RepeatScheduler({ store: fakeStore().store, logger: quiet });
    assert.throws(() => scheduler.start('q', payload, { every: 1000 }, { name: '' }), {
      code: 'PB_VALIDATION',
      message: /needs a name of 1 to 255 characters/,
    });
    assert.throws(() => scheduler.start('q', payload, { every: -5 }, { name: 'n' }), {
      code: 'PB_VALIDATION',
      message: /Repeat schedule "n": "every"/,
    });
    scheduler.close();
    assert.throws(() => scheduler.start('q', payload, { every: 1000 }, { name: 'n' }), {
      code: 'PB_CLOSED',
    });
  });

  it('keeps the next occurrence enqueued ahead, due and keyed by its due time', async () => {
    const { store, calls } = fakeStore();
    const scheduler = new RepeatScheduler({ store, logger: quiet });
    const before = Date.now();
    const handle = scheduler.start(
      'q',
      payload,
      { cron: '0 0 1 1 *' },
      {
        name: 'new-year',
        priority: 5,
        maxAttempts: 3,
      },
    );
    assert.equal(handle.name, 'new-year');
    // An occurrence more than 7 days away is enqueued later (keys are kept 30 days at most).
    const soon = scheduler.start('q', payload, { every: 60_000 }, { name: 'minutely' });
    await eventually(() => calls.length > 0, 10_000, 'the first occurrence enqueued');
    const [call] = calls;
    const due = Math.ceil((before + 1) / 60_000) * 60_000;
    assert.equal(call!.options.notBefore, due);
    assert.equal(call!.options.dedupKey, `repeat:minutely:${due}`);
    // Remembered until well after the due time: at least a minute past it.
    assert.ok(call!.options.dedupMs! >= due - Date.now() + 60_000);
    await Promise.all([handle.cancel(), soon.cancel()]);
    assert.equal(calls.length, 1);
    assert.equal(scheduler.size, 0);
  });

  it('passes priority and maxAttempts, and enqueues the following one at each due time', async () => {
    const { store, calls } = fakeStore();
    const scheduler = new RepeatScheduler({ store, logger: quiet });
    const handle = scheduler.start(
      'q',
      payload,
      { every: 40 },
      {
        name: 'fast',
        priority: 5,
        maxAttempts: 3,
      },
    );
    await eventually(() => calls.length >= 3, 10_000, 'three occurrences enqueued');
    await handle.cancel();
    const dues = calls.map((c) => c.options.notBefore!);
    // Consecutive due times, unless this process ran a whole period late (a loaded machine),
    // when the missed one is skipped: always later multiples of `every`, never a repeat.
    for (let i = 0; i < dues.length; i++) {
      assert.equal(dues[i]! % 40, 0, `due ${dues[i]} is a multiple of every`);
      if (i > 0) assert.ok(dues[i]! > dues[i - 1]!, 'due times only move forward');
    }
    for (const c of calls) {
      assert.equal(c.options.priority, 5);
      assert.equal(c.options.maxAttempts, 3);
    }
  });

  it('retries a failed enqueue with backoff, logging each failure; never an unhandled rejection', async () => {
    let failures = 3;
    const { store, calls } = fakeStore(() => failures-- > 0);
    const { logger, lines } = captureLogger();
    const scheduler = new RepeatScheduler({ store, logger });
    const handle = scheduler.start('q', payload, { every: 60_000 }, { name: 'flaky' });
    await eventually(() => calls.length > 0, 10_000, 'the enqueue to succeed after retries');
    await handle.cancel();
    const warnings = lines.filter((l) => l.msg.startsWith('could not enqueue'));
    assert.deepEqual(
      warnings.map((l) => l['retryInMs']),
      [100, 200, 400],
    );
    assert.equal(warnings[0]!['repeat'], 'flaky');
    assert.ok(lines.some((l) => l.msg === 'enqueued the occurrence after retrying'));
  });

  it('ends the schedule when the backend refuses it for good (not retryable)', async () => {
    const store = {
      enqueue: () => Promise.reject(new PayloadTooLargeError('payload over 1 MiB')),
    } as unknown as QueueStore;
    const { logger, lines } = captureLogger();
    const scheduler = new RepeatScheduler({ store, logger });
    scheduler.start('q', payload, { every: 60_000 }, { name: 'huge' });
    await eventually(() => scheduler.size === 0, 10_000, 'the schedule to end');
    const stopped = lines.find((l) => l.msg.startsWith('repeat schedule stopped'));
    assert.equal(
      (stopped?.['err'] as { message?: string } | undefined)?.message,
      'payload over 1 MiB',
    );
    assert.throws(
      () => scheduler.start('q', payload, { every: 1000 }, { name: 'p', priority: 1.5 }),
      { code: 'PB_VALIDATION', message: /priority/ },
    );
  });

  it('cancel while the backend is down stops the retries at once', async () => {
    let attempts = 0;
    const { store } = fakeStore(() => (attempts++, true));
    const scheduler = new RepeatScheduler({ store, logger: quiet });
    const handle = scheduler.start('q', payload, { every: 60_000 }, { name: 'down' });
    // At least one retry happened (backoff starts at 100 ms).
    await eventually(() => attempts >= 2, 10_000, 'a retry after the first failure');
    const started = Date.now();
    await handle.cancel();
    // Well before the next backoff (200 ms): cancel does not wait for the retry timer.
    const took = Date.now() - started;
    assert.ok(took < 190, `cancel took ${took} ms`);
    const atCancel = attempts;
    // Past the next backoff (200 ms, then 400 ms): no attempt after the cancel.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(attempts, atCancel, 'no retry after cancel');
  });
});

describe('RepeatScheduler on the memory backend', () => {
  it('two nodes of one network running one schedule: each due time fires once', async () => {
    const network = createMemoryNetwork();
    const backends = [
      new MemoryBackend({ nodeId: 'a', network }),
      new MemoryBackend({ nodeId: 'b', network }),
    ] as const;
    await Promise.all(backends.map((b) => b.start()));
    try {
      await twoHostsFireEachDueOnce([backends[0].queues, backends[1].queues], 'mq:ticks', 250);
    } finally {
      await Promise.all(backends.map((b) => b.close()));
    }
  });

  it('cancel leaves the occurrence already enqueued; it is delivered at its due time', async () => {
    const backend = new MemoryBackend({ nodeId: 'solo' });
    await backend.start();
    const calls: EnqueueCall[] = [];
    const scheduler = new RepeatScheduler({
      store: recording(backend.queues, 0, calls),
      logger: quiet,
    });
    try {
      const handle = scheduler.start('mq:once', payload, { every: 300 }, { name: 'bye' });
      await eventually(() => calls.length > 0, 10_000, 'the first occurrence enqueued');
      await handle.cancel();
      // Stored (delayed, or ready if its due time has just passed), and not removed.
      const counts = await backend.queues.counts('mq:once');
      assert.equal(counts.delayed + counts.ready, 1);
      const [message] = await backend.queues.claim('mq:once', 'c', {
        count: 1,
        leaseMs: 1000,
        waitMs: 2000,
      });
      assert.equal(message?.id, calls[0]!.id);
      assert.ok(Date.now() >= calls[0]!.options.notBefore!);
      // Nothing follows it.
      const more = await backend.queues.claim('mq:once', 'c', {
        count: 1,
        leaseMs: 1000,
        waitMs: 400,
      });
      assert.deepEqual(more, []);
    } finally {
      scheduler.close();
      await backend.close();
    }
  });
});
