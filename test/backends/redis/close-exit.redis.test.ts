/**
 * A closed Redis backend leaves nothing that keeps the process alive: a process that closes its
 * backend (stops its host) exits at once, not seconds later.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { deleteNamespace, figure, SHARED_REDIS_URL, uniqueNamespace } from './support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/close-and-exit.ts', import.meta.url));

describe('Redis backend close', () => {
  const namespace = uniqueNamespace('close-exit');
  after(() => deleteNamespace(SHARED_REDIS_URL, namespace));

  it('lets the process exit at once, also when its connections had ended already', async (t) => {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', FIXTURE, SHARED_REDIS_URL, namespace],
        { timeout: 30_000 },
        (error, out) => {
          if (error) reject(new Error(error.message));
          else resolve(out);
        },
      ),
    );
    const exited = /exited (\d+) ms after close/.exec(stdout);
    assert.ok(exited, stdout);
    figure(t, 'process exit after close', Number(exited[1]), 'ms');
    // ioredis's disconnect() of an ended client would hold it 2000 ms; nothing should at all.
    assert.ok(Number(exited[1]) < 1000, stdout);
  });
});
