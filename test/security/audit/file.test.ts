import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultAuditLog } from '../../../src/backends/resolve.js';
import type { PluginContext } from '../../../src/context/types.js';
import { createHost, definePlugin } from '../../../src/host/index.js';
import { captureLogger } from '../../backends/redis/support.js';
import { silentLogger } from '../../support/runtime.js';
import { KEY } from './sinks.js';
import {
  MemoryAuditLog,
  MemoryAuditStore,
} from '../../../src/backends/memory/memory-audit-store.js';
import type { AuditRecord } from '../../../src/backends/ports.js';

void describe('audit log file (the embedded backend)', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  async function host(file: string, logger = silentLogger) {
    let app!: PluginContext;
    const h = await createHost({
      logger,
      audit: { checkpointKey: KEY, file },
      transactions: { logFile: false },
      plugins: [definePlugin({ name: 'app', version: '1.0.0', activate: (c) => void (app = c) })],
    });
    await h.start();
    return { host: h, app };
  }

  void it('a restarted host continues the same chain from the file; verify covers both runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pb-audit-file-'));
    dirs.push(dir);
    const file = join(dir, 'nested', 'audit.log');
    const first = await host(file);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        first.app.auditLogger.log({ action: 'a', actor: `${i}` }),
      ),
    );
    await first.host.stop();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    // activated + 20 + stopped, one JSON record per line.
    assert.equal(lines.length, 22);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { seq: number }).seq),
      Array.from({ length: 22 }, (_, i) => i + 1),
    );
    const second = await host(file);
    const entry = await second.app.auditLogger.log({ action: 'b', actor: 'again' });
    assert.equal(entry.seq, 24, 'after the first run (22) and this host activating (23)');
    assert.deepEqual(await second.app.auditLogger.verify(), {
      ok: true,
      checked: 24,
      head: 24,
      anchored: true,
    });
    await second.host.stop();
  });

  void it('a torn last line (a crash mid-write) is dropped with a warning; the chain stays valid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pb-audit-file-'));
    dirs.push(dir);
    const file = join(dir, 'audit.log');
    const first = await host(file);
    await first.app.auditLogger.log({ action: 'a', actor: 'b' });
    await first.host.stop();
    await appendFile(file, '{"seq":4,"hash":"ab","entry":{"act');
    const { logger, lines } = captureLogger();
    const second = await host(file, logger);
    const entry = await second.app.auditLogger.log({ action: 'c', actor: 'd' });
    assert.equal(entry.seq, 5, 'the torn record 4 is gone: 4 is this host activating');
    assert.ok(lines.some((l) => /torn/.test(String(l.msg))));
    const result = await second.app.auditLogger.verify();
    assert.deepEqual([result.ok, result.checked], [true, 5], JSON.stringify(result));
    await second.host.stop();
  });

  void it('a trim (retention) racing an append of another node keeps that append in the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pb-audit-file-'));
    dirs.push(dir);
    // The append lands at each step of the rewrite in turn (each turn of I/O further on).
    for (let turns = 0; turns < 12; turns++) {
      const file = join(dir, `audit-${turns}.log`);
      const log = new MemoryAuditLog(file);
      // Two nodes of one network share the log (and its file).
      const [a, b] = [new MemoryAuditStore(log), new MemoryAuditStore(log)];
      const record = (seq: number): AuditRecord => ({
        seq,
        hash: `h${seq}`,
        entry: Buffer.from(`{"seq":${seq}}`),
      });
      const cp = (seq: number): Uint8Array => Buffer.from(`{"seq":${seq},"hash":"h${seq}"}`);
      let head = { seq: 0, hash: '' };
      for (let seq = 1; seq <= 4; seq++) {
        assert.ok(await a.append(head, [record(seq)], cp(seq)));
        head = { seq, hash: `h${seq}` };
      }
      // Node a trims up to 2 while node b appends 5: both resolve, so both must be on disk.
      const trimmed = a.trim({ seq: 2, hash: 'h2' }, Buffer.from('{"seq":2,"hash":"h2"}'));
      for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
      const appended = b.append(head, [record(5)], cp(5));
      assert.equal(await trimmed, 2);
      assert.equal(await appended, true);
      await log.release();
      const reopened = new MemoryAuditLog(file);
      const store = new MemoryAuditStore(reopened);
      assert.deepEqual(
        (await store.read(1, 10)).map((r) => r.seq),
        [3, 4, 5],
        `append after ${turns} turns`,
      );
      assert.equal((await store.head()).start.seq, 2, `append after ${turns} turns`);
      await reopened.release();
    }
  });

  void it('two hosts cannot share one file (a lock file names the other)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pb-audit-file-'));
    dirs.push(dir);
    const file = join(dir, 'audit.log');
    const first = await host(file);
    // The file is locked on the first write: let the first host's write land before the second
    // host starts (its own lifecycle entries would otherwise race it for the lock).
    await first.app.auditLogger.log({ action: 'first', actor: 'a' });
    const second = await host(file);
    await assert.rejects(second.app.auditLogger.log({ action: 'a', actor: 'b' }), (e: Error) =>
      /audit log .* is in use .*audit\.file/s.test(e.message),
    );
    await Promise.all([first.host.stop(), second.host.stop()]);
  });

  void it('defaults to .plugboard/audit.log in production only (memory otherwise)', () => {
    const was = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      assert.equal(defaultAuditLog(), '.plugboard/audit.log');
      process.env.NODE_ENV = 'development';
      assert.equal(defaultAuditLog(), false);
    } finally {
      if (was === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = was;
    }
  });
});
