import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { CommandRunner } from '../../../src/backends/redis/connection.js';
import { forEachFrame, FrameWriter, type Frame } from '../../../src/backends/redis/frames.js';
import { ByteBudget } from '../../../src/backends/redis/byte-budget.js';
import { Outbox } from '../../../src/backends/redis/outbox.js';
import { BackpressureError } from '../../../src/errors/errors.js';

/** A runner whose PUBLISHes are recorded and answered only when the test says so. */
function fakeRunner() {
  const sent: Array<{ channel: string; message: Buffer; answer: (receivers: number) => void }> = [];
  const runner = {
    client: new EventEmitter(),
    run: (_what: string, command: (client: unknown) => Promise<number>) =>
      command({
        publish: (channel: string, message: Buffer) =>
          new Promise<number>((resolve) => sent.push({ channel, message, answer: resolve })),
      }),
  } as unknown as CommandRunner;
  return { runner, sent };
}

const ids = (message: Buffer): number[] => {
  const out: number[] = [];
  forEachFrame(message, (frame: Frame) => out.push((frame as { id: number }).id));
  return out;
};

const tick = () => new Promise((resolve) => setImmediate(resolve));

const OPTIONS = { maxPendingBytes: 1 << 20, operationTimeout: 1000 };

/**
 * A runner that starts a command only when the test says so (as the real one does while Redis
 * is unreachable), and whose operations can fail at their deadline while the PUBLISH written
 * for them is still unanswered (as with a frozen Redis).
 */
function heldRunner() {
  const ops: Array<{
    deadline: number | undefined;
    start(): void;
    expire(error: Error): void;
    sent: Array<{ message: Buffer; answer(receivers: number): void }>;
  }> = [];
  const client = new EventEmitter();
  const runner = {
    client,
    run: (
      _what: string,
      command: (client: unknown) => Promise<number>,
      deadline?: number,
    ): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        let settled = false;
        const sent: Array<{ message: Buffer; answer(receivers: number): void }> = [];
        ops.push({
          deadline,
          sent,
          start: () => {
            void command({
              publish: (_channel: string, message: Buffer) =>
                new Promise<number>((answer) => sent.push({ message, answer })),
            }).then((receivers) => {
              if (!settled) resolve(receivers);
              settled = true;
            }, reject);
          },
          expire: (error) => {
            settled = true;
            reject(error);
          },
        });
      }),
  } as unknown as CommandRunner;
  return { runner, ops, client };
}

describe('Outbox', () => {
  const writer = new FrameWriter('me');
  const frame = (id: number) => writer.reply(id, Buffer.from([id]), false);

  it('sends a lone frame at once, without waiting for the end of the tick', async () => {
    const { runner, sent } = fakeRunner();
    const outbox = new Outbox(runner, OPTIONS);
    const done = outbox.enqueue('a', frame(1));
    assert.equal(sent.length, 1, 'written synchronously');
    assert.deepEqual(ids(sent[0]!.message), [1]);
    sent[0]!.answer(1);
    assert.equal(await done, 1);
  });

  it('coalesces what follows while a PUBLISH is unanswered, per channel, in order', async () => {
    const { runner, sent } = fakeRunner();
    const outbox = new Outbox(runner, OPTIONS);
    const first = outbox.enqueue('a', frame(1));
    const second = outbox.enqueue('a', frame(2));
    const third = outbox.enqueue('a', frame(3));
    const other = outbox.enqueue('b', frame(4));
    assert.equal(sent.length, 1);
    await tick();
    assert.deepEqual(
      sent.map((s) => [s.channel, ids(s.message)]),
      [
        ['a', [1]],
        ['a', [2, 3]],
        ['b', [4]],
      ],
    );
    sent[0]!.answer(1);
    sent[1]!.answer(2);
    sent[2]!.answer(0);
    assert.deepEqual(await Promise.all([first, second, third, other]), [1, 2, 2, 0]);
    // All answered: the next frame leaves at once again.
    void outbox.enqueue('a', frame(5));
    assert.equal(sent.length, 4);
  });

  it('keeps batching while earlier PUBLISHes are unanswered, across ticks', async () => {
    const { runner, sent } = fakeRunner();
    const outbox = new Outbox(runner, OPTIONS);
    void outbox.enqueue('a', frame(1));
    await tick();
    void outbox.enqueue('a', frame(2));
    assert.equal(sent.length, 1, 'the first PUBLISH is still unanswered');
    outbox.flush();
    assert.equal(sent.length, 2);
  });

  it('fails the frames of a PUBLISH that failed, and sends at once again afterwards', async () => {
    let fail = true;
    const calls: string[] = [];
    const runner = {
      client: new EventEmitter(),
      run: (_what: string, command: (client: unknown) => Promise<number>) =>
        command({
          publish: (channel: string) => {
            calls.push(channel);
            return fail ? Promise.reject(new Error('down')) : Promise.resolve(1);
          },
        }),
    } as unknown as CommandRunner;
    const outbox = new Outbox(runner, OPTIONS);
    await assert.rejects(outbox.enqueue('a', frame(1)), /down/);
    await tick();
    fail = false;
    const done = outbox.enqueue('a', frame(2));
    assert.equal(calls.length, 2, 'sent synchronously once the failed PUBLISH settled');
    assert.equal(await done, 1);
  });

  it('holds at most maxPendingBytes, refuses past them with BackpressureError, and releases a written PUBLISH only when Redis answers it', async () => {
    const { runner, ops } = heldRunner();
    const outbox = new Outbox(runner, { maxPendingBytes: 4096, operationTimeout: 1000 });
    const kb = Buffer.alloc(1000);
    const accepted: Array<Promise<number>> = [];
    for (let i = 0; i < 4; i++) accepted.push(outbox.enqueue('a', kb));
    assert.equal(outbox.pendingBytes, 4000);
    await assert.rejects(outbox.enqueue('a', kb), BackpressureError);
    assert.equal(outbox.pendingBytes, 4000, 'a refused frame is not held');
    await tick();
    for (const op of ops) op.start();
    // The callers are told at their deadline, but the PUBLISHes were written: Redis (frozen)
    // still has to answer them, so their bytes are still held.
    for (const op of ops) op.expire(new Error('deadline'));
    await Promise.allSettled(accepted);
    await tick();
    assert.equal(outbox.pendingBytes, 4000);
    await assert.rejects(outbox.enqueue('b', kb), BackpressureError);
    for (const op of ops) for (const sent of op.sent) sent.answer(1);
    await tick();
    assert.equal(outbox.pendingBytes, 0);
    void outbox.enqueue('b', kb).catch(() => undefined);
    assert.equal(outbox.pendingBytes, 1000);
  });

  it("shares the backend's byte budget: bytes held elsewhere (queue payloads) count against its frames", async () => {
    const { runner, ops } = heldRunner();
    const budget = new ByteBudget(4096);
    const outbox = new Outbox(runner, { maxPendingBytes: 4096, operationTimeout: 1000 }, budget);
    const release = budget.take(3500, 'enqueue a payload');
    await assert.rejects(outbox.enqueue('a', Buffer.alloc(1000)), BackpressureError);
    assert.equal(outbox.pendingBytes, 0);
    release();
    const sent = outbox.enqueue('a', Buffer.alloc(1000));
    assert.equal(budget.pendingBytes, 1000, "the outbox's frames are in the shared budget");
    assert.throws(() => budget.take(3500, 'enqueue a payload'), BackpressureError);
    await tick();
    for (const op of ops) op.start();
    for (const op of ops) for (const written of op.sent) written.answer(1);
    await sent;
    await tick();
    assert.equal(budget.pendingBytes, 0);
  });

  it('leaves out of a batch the frames whose caller was rejected before it was written', async () => {
    const { runner, ops } = heldRunner();
    const outbox = new Outbox(runner, OPTIONS);
    let requestWaits = true;
    const now = Date.now();
    void outbox.enqueue('a', frame(1)).catch(() => undefined);
    const batch = outbox.enqueue('a', frame(2), {
      deadline: now + 300,
      waiting: () => requestWaits,
    });
    const kept = outbox.enqueue('a', frame(3));
    await tick();
    assert.equal(ops.length, 2);
    assert.ok(ops[1]!.deadline! >= now + OPTIONS.operationTimeout, 'waits as long as frame 3 may');
    assert.equal(outbox.pendingBytes, 3 * frame(1).length);
    // The request timed out while its batch waited (Redis unreachable); then Redis is back.
    requestWaits = false;
    ops[1]!.start();
    assert.deepEqual(ids(ops[1]!.sent[0]!.message), [3]);
    assert.equal(outbox.pendingBytes, 2 * frame(1).length, 'the dropped frame is released');
    ops[1]!.sent[0]!.answer(1);
    assert.equal(await kept, 1);
    assert.equal(await batch, 1);
  });

  it('gives a PUBLISH of frames that all have their own caller the latest of their deadlines', async () => {
    const { runner, ops } = heldRunner();
    const outbox = new Outbox(runner, OPTIONS);
    const now = Date.now();
    const caller = (ms: number) => ({ deadline: now + ms, waiting: () => true });
    void outbox.enqueue('a', frame(1), caller(100)).catch(() => undefined);
    void outbox.enqueue('a', frame(2), caller(200)).catch(() => undefined);
    void outbox.enqueue('a', frame(3), caller(300)).catch(() => undefined);
    await tick();
    assert.deepEqual(
      ops.map((op) => op.deadline),
      [now + 100, now + 300],
    );
  });

  it('releases the bytes of written PUBLISHes when the connection drops (ioredis never answers them)', async () => {
    const { runner, ops, client } = heldRunner();
    const outbox = new Outbox(runner, OPTIONS);
    const sent = outbox.enqueue('a', frame(1));
    ops[0]!.start();
    ops[0]!.expire(new Error('connection dropped'));
    await assert.rejects(sent);
    assert.equal(outbox.pendingBytes, frame(1).length);
    client.emit('close');
    assert.equal(outbox.pendingBytes, 0);
  });
});
