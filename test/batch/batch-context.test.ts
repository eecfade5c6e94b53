/** `context.batchProcessor` through a real runtime: reporting, names, and the plugin's stop. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginErrorEvent } from '../../src/bus/types.js';
import { startRuntime, type TestRuntime } from '../support/runtime.js';

describe('context.batchProcessor', () => {
  let rt: TestRuntime;
  before(async () => (rt = await startRuntime()));
  after(() => rt.close());

  it('reports a batch that failed for good as plugin.error (event batch.<name>)', async () => {
    const errors: PluginErrorEvent[] = [];
    const reported = new Promise<void>((resolve) =>
      rt.ctx('monitor').eventBus.subscribe('plugin.error', (data) => {
        errors.push(data as PluginErrorEvent);
        resolve();
      }),
    );
    const processor = rt.ctx('writer').batchProcessor.create('audit.rows', {
      batchSize: 2,
      batchTimeout: 1000,
    });
    processor.on('batch', () => {
      throw Object.assign(new Error('table is locked'), { code: 'E_LOCKED' });
    });
    await processor.add({ n: 1 });
    await processor.add({ n: 2 });
    await reported;
    assert.deepEqual(
      errors.map((e) => [e.pluginId, e.event, e.error, e.code]),
      [['writer', 'batch.audit.rows', 'table is locked', 'E_LOCKED']],
    );
  });

  it('validates names and refuses a second open processor of the same name', async () => {
    const batches = rt.ctx('names').batchProcessor;
    assert.throws(() => batches.create('', { batchSize: 1, batchTimeout: 1 }), {
      code: 'PB_VALIDATION',
      message: /batch processor name must not be empty/,
    });
    assert.throws(() => batches.create('bad..name', { batchSize: 1, batchTimeout: 1 }), {
      code: 'PB_VALIDATION',
    });
    const first = batches.create('user-events', { batchSize: 1, batchTimeout: 1 });
    assert.throws(() => batches.create('user-events', { batchSize: 1, batchTimeout: 1 }), {
      code: 'PB_VALIDATION',
      message: /exists already in plugin "names"/,
    });
    // Another plugin has names of its own; a closed processor's name is free again.
    rt.ctx('other-names').batchProcessor.create('user-events', { batchSize: 1, batchTimeout: 1 });
    await first.close();
    batches.create('user-events', { batchSize: 1, batchTimeout: 1 });
  });

  it('is flushed when the plugin stops; a stopped plugin can neither add nor create', async () => {
    const scoped = rt.scoped('flushed-on-stop');
    const processor = scoped.context.batchProcessor.create<number>('events', {
      batchSize: 100,
      batchTimeout: 60_000,
    });
    const handled: number[][] = [];
    processor.on('batch', async (items: number[]) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      handled.push(items);
    });
    void processor.add(1);
    void processor.add(2);
    assert.equal(scoped.holdings().background, 1); // pending items count as work in flight
    const { unfinished } = await scoped.release(5000);
    assert.deepEqual(unfinished, []);
    assert.deepEqual(handled, [[1, 2]]);
    assert.equal(scoped.holdings().background, 0);
    await assert.rejects(processor.add(3), { code: 'PB_CLOSED' });
    assert.throws(
      () => scoped.context.batchProcessor.create('late', { batchSize: 1, batchTimeout: 1 }),
      { code: 'PB_CONTEXT_CLOSED' },
    );
  });

  it('does not hold up the stop past its bound, and names itself as unfinished', async () => {
    const scoped = rt.scoped('stuck-batch');
    const processor = scoped.context.batchProcessor.create('slow', {
      batchSize: 1,
      batchTimeout: 1000,
    });
    processor.on('batch', () => new Promise(() => undefined));
    void processor.add('x');
    const started = Date.now();
    const { unfinished } = await scoped.release(100);
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(unfinished, ['background task "batch processor slow"']);
  });
});
