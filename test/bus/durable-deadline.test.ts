import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { DropReporter } from '../../src/bus/drop-reporter.js';
import { SubscriptionRecord } from '../../src/bus/subscription-record.js';
import type { EventMeta } from '../../src/bus/types.js';
import { createCodec } from '../../src/codec/codec.js';
import { DurableConsumer } from '../../src/queue/durable-consumer.js';
import { Deadlines } from '../../src/util/deadlines.js';
import { WorkTracker } from '../../src/util/work-tracker.js';
import { until } from '../conformance/harness.js';

void describe('durable consumer handler bound', () => {
  void it("bounds an async handler with a deadline in the runtime's scheduler (no timer per handler)", async () => {
    const logger = pino({ level: 'silent' });
    const codec = createCodec();
    const backend = new MemoryBackend({ nodeId: 'n1' });
    await backend.start();
    const deadlines = new Deadlines();
    let calls = 0;
    let finish: (() => void) | undefined;
    const record = new SubscriptionRecord(
      's1',
      1,
      'slow',
      'job.*',
      () => {
        calls++;
        // First delivery never settles (runs over the bound); the retry finishes when told.
        return calls === 1 ? new Promise<void>(() => {}) : new Promise<void>((r) => (finish = r));
      },
      'g',
      0,
      false,
      new WorkTracker(),
      () => undefined,
    );
    const reports: { owner: string; meta: EventMeta; error: unknown }[] = [];
    const consumer = new DurableConsumer(record, 'q1', 'n1:s1', {
      store: backend.queues,
      codec,
      logger,
      drops: new DropReporter(logger, 'dropped'),
      nextId: () => `id-${Math.random()}`,
      handlerTimeout: 50,
      deadlines,
      maxAttempts: 5,
      report: (owner, meta, error) => reports.push({ owner, meta, error }),
    });
    const frame = {
      e: 'job.run',
      d: codec.encode({}),
      i: 'e1',
      s: 'p',
      n: 'n1',
      t: Date.now(),
      tr: 't1',
    };
    await backend.queues.enqueue('q1', codec.encode(frame));
    consumer.start(Promise.resolve());
    try {
      await until(() => calls === 1, 5000, 'first delivery');
      assert.equal(deadlines.size, 1, 'the bound is a deadline entry');
      await until(() => reports.length === 1, 5000, 'the timeout report');
      const error = reports[0]!.error as { code?: string; details?: { pluginId?: string } };
      assert.equal(error.code, 'PB_TIMEOUT');
      assert.equal(error.details?.pluginId, 'slow');
      await until(() => calls === 2, 5000, 'the retry');
      finish!();
      await until(() => deadlines.size === 0, 5000, 'the retry settled its deadline');
    } finally {
      await consumer.stop();
      deadlines.close();
      await backend.close();
    }
  });
});
