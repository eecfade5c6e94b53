import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandRunner } from '../../../src/backends/redis/connection.js';
import { forEachFrame, FrameWriter, type Frame } from '../../../src/backends/redis/frames.js';
import { Outbox } from '../../../src/backends/redis/outbox.js';

/** A runner whose PUBLISHes are recorded and answered only when the test says so. */
function fakeRunner() {
  const sent: Array<{ channel: string; message: Buffer; answer: (receivers: number) => void }> = [];
  const runner = {
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

describe('Outbox', () => {
  const writer = new FrameWriter('me');
  const frame = (id: number) => writer.reply(id, Buffer.from([id]), false);

  it('sends a lone frame at once, without waiting for the end of the tick', async () => {
    const { runner, sent } = fakeRunner();
    const outbox = new Outbox(runner);
    const done = outbox.enqueue('a', frame(1));
    assert.equal(sent.length, 1, 'written synchronously');
    assert.deepEqual(ids(sent[0]!.message), [1]);
    sent[0]!.answer(1);
    assert.equal(await done, 1);
  });

  it('coalesces what follows while a PUBLISH is unanswered, per channel, in order', async () => {
    const { runner, sent } = fakeRunner();
    const outbox = new Outbox(runner);
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
    const outbox = new Outbox(runner);
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
      run: (_what: string, command: (client: unknown) => Promise<number>) =>
        command({
          publish: (channel: string) => {
            calls.push(channel);
            return fail ? Promise.reject(new Error('down')) : Promise.resolve(1);
          },
        }),
    } as unknown as CommandRunner;
    const outbox = new Outbox(runner);
    await assert.rejects(outbox.enqueue('a', frame(1)), /down/);
    await tick();
    fail = false;
    const done = outbox.enqueue('a', frame(2));
    assert.equal(calls.length, 2, 'sent synchronously once the failed PUBLISH settled');
    assert.equal(await done, 1);
  });
});
