import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { CommandRunner } from '../../../src/backends/redis/connection.js';
import { resolveSettings } from '../../../src/backends/redis/options.js';
import { Deadlines } from '../../../src/util/deadlines.js';

/** A client that still says 'ready' after its socket dropped (ioredis has not noticed yet). */
function droppedButReady(): Redis {
  return Object.assign(new EventEmitter(), { status: 'ready' }) as unknown as Redis;
}

describe('CommandRunner', () => {
  it('applies the offline bound when a "ready" connection refuses to write', async () => {
    const settings = resolveSettings({ redis: 'redis://127.0.0.1:1', offlineQueueLimit: 0 });
    const deadlines = new Deadlines({ keepAlive: false });
    const runner = new CommandRunner(droppedButReady(), deadlines, settings);
    await assert.rejects(
      runner.run('put x', () =>
        Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
      ),
      (error: Error & { details?: Record<string, unknown> }) =>
        /offlineQueueLimit/.test(error.message) && error.details?.['sent'] === false,
    );
    runner.close();
    deadlines.close();
  });
});
