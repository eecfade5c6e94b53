/**
 * The batch processor on its own, with a fake owner and a fake clock (node:test's mock timers
 * for setTimeout and Date): every wait is a tick, so nothing depends on real time.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { batchSettings } from '../../src/batch/batch-options.js';
import { BatchProcessorImpl, type BatchEnv } from '../../src/batch/batch-processor.js';
import type { BatchOptions } from '../../src/batch/types.js';
import { silentLogger } from '../support/runtime.js';

/** Let promise callbacks and deferred handler calls run (setImmediate is not mocked). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function processor<T = number>(options: BatchOptions) {
  const reported: unknown[] = [];
  const work = { started: 0, ended: 0 };
  let closed = 0;
  let abandoned = false;
  const env: BatchEnv = {
    logger: silentLogger,
    invoke: (fn, ...args) => fn(...args),
    report: (error) => void reported.push(error),
    track: () => {
      work.started++;
      return () => void work.ended++;
    },
    abandoned: () => abandoned,
    onClosed: () => void closed++,
  };
  const p = new BatchProcessorImpl<T>('events', batchSettings('events', options), env);
  return {
    p,
    reported,
    work,
    closed: () => closed,
    abandon: () => void (abandoned = true),
  };
}

/** A 'batch' handler that records batches and can be held (a slow database). */
function recorder<T>() {
  const batches: T[][] = [];
  let hold: Promise<void> | undefined;
  let release: () => void = () => {};
  return {
    batches,
    handler: async (items: T[]) => {
      batches.push(items);
      if (hold) await hold;
    },
    holdNext() {
      hold = new Promise((resolve) => (release = resolve));
    },
    release() {
      hold = undefined;
      release();
    },
  };
}

describe('batch processor', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('sends a batch as soon as batchSize items wait, in order', async () => {
    const { p } = processor({ batchSize: 2, batchTimeout: 1000 });
    const r = recorder<number>();
    p.on('batch', r.handler);
    for (let i = 1; i <= 5; i++) void p.add(i);
    await settle();
    assert.deepEqual(r.batches, [
      [1, 2],
      [3, 4],
    ]);
    assert.equal(p.pending, 1);
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(r.batches.at(-1), [5]);
    assert.equal(p.pending, 0);
  });

  it('sends fewer items batchTimeout ms after the oldest waiting one was added', async () => {
    const { p } = processor<string>({ batchSize: 100, batchTimeout: 1000 });
    const r = recorder<string>();
    p.on('batch', r.handler);
    void p.add('a');
    mock.timers.tick(600);
    void p.add('b');
    mock.timers.tick(399);
    await settle();
    assert.deepEqual(r.batches, []);
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(r.batches, [['a', 'b']]);
    // The next batch's clock starts with its own first item.
    void p.add('c');
    mock.timers.tick(999);
    await settle();
    assert.equal(r.batches.length, 1);
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(r.batches, [['a', 'b'], ['c']]);
  });

  it('keeps items added before any handler until one is added', async () => {
    const { p } = processor<{ type: string }>({ batchSize: 100, batchTimeout: 1000 });
    void p.add({ type: 'created' });
    void p.add({ type: 'updated' });
    mock.timers.tick(5000);
    await settle();
    assert.equal(p.pending, 2);
    const r = recorder<{ type: string }>();
    p.on('batch', r.handler);
    await settle();
    assert.deepEqual(r.batches, [[{ type: 'created' }, { type: 'updated' }]]);
  });

  it('handles one batch at a time; every handler gets every batch', async () => {
    const { p } = processor({ batchSize: 2, batchTimeout: 1000 });
    const first = recorder<number>();
    const second = recorder<number>();
    first.holdNext();
    p.on('batch', first.handler).on('batch', second.handler);
    for (let i = 1; i <= 4; i++) void p.add(i);
    await settle();
    assert.deepEqual(first.batches, [[1, 2]]);
    assert.equal(p.pending, 4);
    first.release();
    await settle();
    assert.deepEqual(first.batches, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(second.batches, first.batches);
  });

  it("whenFull 'fail': add rejects with BackpressureError at maxPending", async () => {
    const { p } = processor({ batchSize: 2, batchTimeout: 1000, maxPending: 2, whenFull: 'fail' });
    const r = recorder<number>();
    r.holdNext();
    p.on('batch', r.handler);
    await p.add(1);
    await p.add(2);
    await assert.rejects(p.add(3), { code: 'PB_BACKPRESSURE', message: /holds 2 items/ });
    r.release();
    await settle();
    await p.add(3);
    assert.equal(p.pending, 1);
  });

  it("whenFull 'wait' (default): add resolves once there is room; waiting adds are bounded too", async () => {
    const { p } = processor({ batchSize: 2, batchTimeout: 1000, maxPending: 2 });
    const r = recorder<number>();
    r.holdNext();
    p.on('batch', r.handler);
    await p.add(1);
    await p.add(2);
    let accepted = 0;
    const waiting = [p.add(3).then(() => accepted++), p.add(4).then(() => accepted++)];
    await assert.rejects(p.add(5), { code: 'PB_BACKPRESSURE', message: /2 adds wait for room/ });
    await settle();
    assert.equal(accepted, 0);
    r.release();
    await Promise.all(waiting);
    await settle();
    assert.deepEqual(r.batches, [
      [1, 2],
      [3, 4],
    ]);
  });

  it('reports a failed batch with its items: plugin.error and the error listeners', async () => {
    const { p, reported } = processor({ batchSize: 2, batchTimeout: 1000 });
    const failure = new Error('database down');
    const seen: Array<[unknown, number[]]> = [];
    p.on('batch', () => {
      throw failure;
    });
    p.on('error', (error, items) => void seen.push([error, items]));
    p.on('error', () => {
      throw new Error('a broken listener is logged, not thrown');
    });
    void p.add(1);
    void p.add(2);
    await settle();
    assert.deepEqual(reported, [failure]);
    assert.deepEqual(seen, [[failure, [1, 2]]]);
    assert.equal(p.pending, 0);
  });

  it('retries a failed batch retryDelay ms apart before reporting it', async () => {
    const { p, reported } = processor({
      batchSize: 1,
      batchTimeout: 1000,
      retries: 2,
      retryDelay: 500,
    });
    let calls = 0;
    p.on('batch', () => {
      calls++;
      if (calls < 3) throw new Error(`attempt ${calls}`);
    });
    void p.add('x' as unknown as number);
    await settle();
    assert.equal(calls, 1);
    mock.timers.tick(500);
    await settle();
    assert.equal(calls, 2);
    mock.timers.tick(500);
    await settle();
    assert.equal(calls, 3);
    assert.deepEqual(reported, []); // the third attempt succeeded

    let always = 0;
    const q = processor({ batchSize: 1, batchTimeout: 1000, retries: 1, retryDelay: 100 });
    q.p.on('batch', () => {
      throw new Error(`failure ${++always}`);
    });
    void q.p.add(1);
    await settle();
    mock.timers.tick(100);
    await settle();
    assert.equal(always, 2);
    assert.deepEqual(
      q.reported.map((e) => (e as Error).message),
      ['failure 2'],
    );
  });

  it('flush() sends what waits at once and resolves once it was handled', async () => {
    const { p } = processor({ batchSize: 3, batchTimeout: 60_000 });
    const r = recorder<number>();
    p.on('batch', r.handler);
    for (let i = 1; i <= 4; i++) void p.add(i);
    await p.flush();
    assert.deepEqual(r.batches, [[1, 2, 3], [4]]);
    assert.equal(p.pending, 0);
    await p.flush(); // nothing pending: at once
  });

  it('close() flushes, then refuses adds with ClosedError; adds waiting for room are kept', async () => {
    const { p, closed } = processor({ batchSize: 2, batchTimeout: 60_000, maxPending: 2 });
    const r = recorder<number>();
    r.holdNext();
    p.on('batch', r.handler);
    void p.add(1);
    void p.add(2);
    const third = p.add(3); // waits for room
    const closing = p.close();
    assert.equal(p.close(), closing); // idempotent
    await assert.rejects(p.add(4), { code: 'PB_CLOSED', message: /is closed/ });
    await settle();
    r.release();
    await third;
    await closing;
    assert.deepEqual(r.batches, [[1, 2], [3]]);
    assert.equal(closed(), 1);
  });

  it('close() with no handler reports the items it cannot hand to anyone', async () => {
    const { p, reported, work } = processor({ batchSize: 10, batchTimeout: 1000 });
    const seen: unknown[][] = [];
    p.on('error', (_error, items) => void seen.push(items));
    void p.add(1);
    void p.add(2);
    await p.close();
    assert.equal((reported[0] as { code: string }).code, 'PB_CLOSED');
    assert.match((reported[0] as Error).message, /closed with 2 item\(s\) and no 'batch' handler/);
    assert.deepEqual(seen, [[1, 2]]);
    assert.deepEqual(work, { started: 1, ended: 1 });
  });

  it('counts as work in flight exactly while items are pending', async () => {
    const { p, work } = processor({ batchSize: 2, batchTimeout: 1000 });
    const r = recorder<number>();
    p.on('batch', r.handler);
    void p.add(1);
    assert.deepEqual(work, { started: 1, ended: 0 });
    void p.add(2);
    await settle();
    assert.deepEqual(work, { started: 1, ended: 1 });
    void p.add(3);
    assert.deepEqual(work, { started: 2, ended: 1 });
  });

  it('gives up retrying once its owner stopped for good, reporting the batch', async () => {
    const { p, reported, abandon } = processor({
      batchSize: 1,
      batchTimeout: 1000,
      retries: 5,
      retryDelay: 100,
    });
    p.on('batch', () => {
      throw new Error('down');
    });
    void p.add(1);
    await settle();
    abandon();
    mock.timers.tick(100);
    await settle();
    assert.equal(reported.length, 1);
    assert.match((reported[0] as Error).message, /stopped before batch processor "events"/);
  });

  it('on() refuses a non-function and unknown events', () => {
    const { p } = processor({ batchSize: 1, batchTimeout: 1 });
    assert.throws(() => p.on('batch', 'nope' as never), { code: 'PB_VALIDATION' });
    assert.throws(() => p.on('done' as never, () => {}), {
      code: 'PB_VALIDATION',
      message: /has the events 'batch' and 'error'/,
    });
  });
});

describe('batch options', () => {
  it('fill in the defaults', () => {
    assert.deepEqual(batchSettings('e', { batchSize: 100, batchTimeout: 1000 }), {
      batchSize: 100,
      batchTimeout: 1000,
      maxPending: 1000,
      whenFull: 'wait',
      retries: 0,
      retryDelay: 1000,
    });
  });

  it('refuse what makes no sense, saying which option', () => {
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /needs options \{ batchSize, batchTimeout \}/],
      [{ batchSize: 0, batchTimeout: 1 }, /batchSize must be a whole number from 1 to 1000000/],
      [{ batchSize: 1.5, batchTimeout: 1 }, /batchSize/],
      [{ batchSize: 1, batchTimeout: 0 }, /batchTimeout must be a number of ms above 0/],
      [{ batchSize: 1, batchTimeout: Infinity }, /batchTimeout/],
      // Past what a timer honours (Node would fire it after 1 ms, over and over).
      [{ batchSize: 1, batchTimeout: 2 ** 31 }, /batchTimeout .* at most 2147483647/],
      [{ batchSize: 1, batchTimeout: 1, retryDelay: 2 ** 31 }, /retryDelay .* to 2147483647/],
      [
        { batchSize: 10, batchTimeout: 1, maxPending: 5 },
        /maxPending must be a whole number of at least 10/,
      ],
      [{ batchSize: 1, batchTimeout: 1, whenFull: 'drop' }, /whenFull must be 'wait' or 'fail'/],
      [{ batchSize: 1, batchTimeout: 1, retries: -1 }, /retries must be a whole number from 0/],
      [{ batchSize: 1, batchTimeout: 1, retryDelay: -1 }, /retryDelay must be a number of ms/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => batchSettings('user-events', options as BatchOptions),
        (e: Error & { code: string }) => {
          assert.equal(e.code, 'PB_VALIDATION');
          assert.match(e.message, /^Batch processor "user-events"/);
          assert.match(e.message, message);
          return true;
        },
      );
    }
  });
});
