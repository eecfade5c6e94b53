import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { MemoryBackend } from '../../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../../src/backends/memory/memory-network.js';
import type { TxLogRecord } from '../../../src/backends/ports.js';
import { resolveBackend } from '../../../src/backends/resolve.js';
import { silentLogger } from '../../support/runtime.js';

const LONG = 60_000;
const work = (n: number): { resource: string; work: Uint8Array }[] => [
  { resource: 'inv', work: new Uint8Array([n, 0, 255]) },
  { resource: 'bill', work: new Uint8Array([]) },
];

/** A logger that keeps the warnings it is given. */
function capture(): { warnings: string[]; logger: Pick<Logger, 'warn'> } {
  const warnings: string[] = [];
  const logger = { warn: (_details: unknown, message: string) => warnings.push(message) };
  return { warnings, logger: logger as unknown as Pick<Logger, 'warn'> };
}

const lines = async (file: string): Promise<string[]> =>
  (await readFile(file, 'utf8')).split('\n').filter((l) => l.length > 0);

/** A child process that wrote `count` decided transactions to `file` (and holds its lock). */
async function writer(
  file: string,
  count: number,
): Promise<{ pid: number; kill(signal: NodeJS.Signals): void; exited: Promise<unknown> }> {
  const child = fork(
    fileURLToPath(new URL('./tx-log-child.ts', import.meta.url)),
    [file, `${count}`],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child wrote nothing in 30 s')), 30_000);
    child.on('message', (m: { written: string }) => {
      if (m.written !== `crash-${count - 1}`) return;
      clearTimeout(timer);
      resolve();
    });
    void exited.then(() => reject(new Error('child exited early')));
  });
  return { pid: child.pid!, kill: (signal) => child.kill(signal), exited };
}

describe('file-backed transaction log (memory backend)', () => {
  let dir: string;
  let file: string;
  const open: MemoryBackend[] = [];
  /** A lone backend on `file` (closed after the test). */
  const host = async (
    nodeId = 'n1',
    logger?: Pick<Logger, 'warn'>,
    path = file,
  ): Promise<MemoryBackend> => {
    const backend = new MemoryBackend({
      nodeId,
      transactionLog: path,
      ...(logger === undefined ? {} : { logger }),
    });
    open.push(backend);
    await backend.start();
    return backend;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pb-txfile-'));
    file = join(dir, 'nested', 'transactions.log');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('creates nothing until the first write, then the folder, the file and its lock', async () => {
    const a = await host();
    assert.equal(await a.transactions.get('nope'), undefined);
    assert.deepEqual(await a.transactions.claimExpired('rec', LONG, 10), []);
    assert.deepEqual(await a.transactions.unfinishedFor('inv', 10), []);
    assert.equal(existsSync(join(dir, 'nested')), false, 'reads of a missing log create nothing');
    await a.transactions.open('t1', 'n1', work(1), LONG);
    assert.equal(existsSync(file), true);
    assert.equal(existsSync(`${file}.lock`), true);
    assert.match(await readFile(`${file}.lock`, 'utf8'), new RegExp(`^${process.pid} `));
    await a.close();
    assert.equal(existsSync(`${file}.lock`), false, 'the last node out releases the lock');
    assert.equal(existsSync(file), true, 'the log stays');
  });

  it('replays every kind of change when the file is opened again', async () => {
    const a = await host();
    await a.transactions.open('committed', 'n1', work(1), LONG);
    assert.equal(await a.transactions.decide('committed', 'commit', []), 'commit');
    assert.equal(await a.transactions.markDone('committed', 1), true);
    await a.transactions.open('aborted', 'n1', work(2), LONG);
    await a.transactions.decide('aborted', 'abort', ['inv: voted no']);
    await a.transactions.open('in-doubt', 'n1', work(3), 50);
    await a.transactions.decide('presumed', 'commit', []);
    await a.transactions.open('finished', 'n1', work(4), LONG);
    await a.transactions.finish('finished', LONG);
    await a.transactions.open('gone', 'n1', work(5), LONG);
    await a.transactions.finish('gone', 0);
    assert.equal(await a.transactions.renew('aborted', 'n1', LONG * 2), true);
    const ids = ['committed', 'aborted', 'in-doubt', 'presumed', 'finished', 'gone'];
    const before = await Promise.all(ids.map((id) => a.transactions.get(id)));
    await a.close();

    const b = await host('n2');
    // A read opens the existing file: recovery sees what the last run left.
    const after = await Promise.all(ids.map((id) => b.transactions.get(id)));
    const reopened = Date.now();
    // Leases of the run that wrote the file are void (that process is gone): all lapsed.
    const noLease = (r: TxLogRecord | undefined): object | undefined =>
      r === undefined ? undefined : { ...r, leaseUntil: 0 };
    assert.deepEqual(after.map(noLease), before.map(noLease));
    for (const r of after) if (r?.finished === false) assert.ok(r.leaseUntil <= reopened);
    assert.equal(after[5], undefined, 'a finished record past its retention is gone');
    assert.equal(await b.transactions.decide('committed', 'abort', ['late']), 'commit');
    assert.equal(await b.transactions.markDone('committed', 1), false);
    assert.deepEqual((await b.transactions.unfinishedFor('inv', 10)).map((r) => r.id).sort(), [
      'aborted',
      'committed',
      'in-doubt',
    ]);
    // Recovery on start need not wait for the old leases to run out.
    const claimed = await b.transactions.claimExpired('n2', LONG, 10);
    assert.deepEqual(claimed.map((r) => r.id).sort(), [
      'aborted',
      'committed',
      'in-doubt',
      'presumed',
    ]);
    assert.ok(claimed.every((r) => r.leaseOwner === 'n2'));
  });

  it('ignores a torn last line with a warning and keeps writing after it', async () => {
    const a = await host();
    await a.transactions.open('t1', 'n1', work(1), LONG);
    await a.transactions.decide('t1', 'commit', []);
    await a.close();
    await appendFile(file, '{"o":"done","id":"t1","ind');
    const { warnings, logger } = capture();
    const b = await host('n2', logger);
    assert.equal((await b.transactions.get('t1'))?.decision, 'commit');
    assert.deepEqual(
      (await b.transactions.get('t1'))?.participants.map((p) => p.done),
      [false, false],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /torn or corrupt/);
    assert.ok((await readFile(file, 'utf8')).endsWith('}\n'), 'the torn bytes were cut off');
    assert.equal(await b.transactions.markDone('t1', 0), true);
    await b.close();

    const c = await host('n3');
    assert.deepEqual(
      (await c.transactions.get('t1'))?.participants.map((p) => p.done),
      [true, false],
    );
  });

  it('ignores a corrupt complete last line too', async () => {
    const a = await host();
    await a.transactions.open('t1', 'n1', work(1), LONG);
    await a.close();
    await appendFile(file, '{"o":"done","id":"t1","index":-4}\n');
    const { warnings, logger } = capture();
    const b = await host('n2', logger);
    assert.equal((await b.transactions.get('t1'))?.decision, undefined);
    assert.equal(warnings.length, 1);
    assert.equal((await lines(file)).length, 1);
  });

  it('refuses a log corrupt before its last line, with an error naming the file and line', async () => {
    const a = await host();
    await a.transactions.open('t1', 'n1', work(1), LONG);
    await a.transactions.open('t2', 'n1', work(2), LONG);
    await a.close();
    const [first, second] = await lines(file);
    await writeFile(file, `${first}\nnot json at all\n${second}\n`);
    const b = await host('n2');
    await assert.rejects(b.transactions.get('t1'), (error: Error & { details?: object }) => {
      assert.equal((error as { code?: string }).code, 'PB_BACKEND_UNAVAILABLE');
      assert.match(error.message, /corrupt at line 2/);
      assert.ok(error.message.includes(file));
      assert.match(error.message, /transactions\.logFile/);
      return true;
    });
    assert.equal(existsSync(`${file}.lock`), false, 'a failed open does not keep the lock');
  });

  it('refuses a second network on the same file, and lets it in once the first closed', async () => {
    const a = await host('a');
    await a.transactions.open('t1', 'a', work(1), LONG);
    const b = await host('b');
    const conflict = (error: Error & { details?: Record<string, unknown> }): boolean => {
      assert.equal((error as { code?: string }).code, 'PB_BACKEND_UNAVAILABLE');
      assert.match(error.message, /transactions\.logFile/);
      assert.equal(error.details?.field, 'transactions.logFile');
      return true;
    };
    await assert.rejects(b.transactions.open('t2', 'b', work(2), LONG), conflict);
    // Reads of an existing file need it too.
    await assert.rejects(b.transactions.get('t1'), conflict);
    await a.close();
    assert.equal((await b.transactions.get('t1'))?.coordinator, 'a');
    await b.transactions.open('t2', 'b', work(2), LONG);
  });

  it('refuses a log locked by a live process, naming it', async () => {
    const a = await host();
    await a.transactions.open('t1', 'n1', work(1), LONG);
    await a.close();
    // The test runner's parent process is alive: its lock is not stale.
    await writeFile(`${file}.lock`, `${process.ppid} other\n`);
    const b = await host('n2');
    await assert.rejects(b.transactions.get('t1'), (error: Error) => {
      assert.ok(error.message.includes(`process ${process.ppid}`), error.message);
      return true;
    });
    assert.equal(await readFile(`${file}.lock`, 'utf8'), `${process.ppid} other\n`, 'kept');
  });

  it('takes over a stale lock left by a dead process', async () => {
    const a = await host();
    await a.transactions.open('t1', 'n1', work(1), LONG);
    await a.close();
    const dead = spawn(process.execPath, ['-e', 'process.exit(0)'], { stdio: 'ignore' });
    const pid = dead.pid!;
    await new Promise((resolve) => dead.once('exit', resolve));
    await writeFile(`${file}.lock`, `${pid} stale\n`);
    const b = await host('n2');
    assert.equal((await b.transactions.get('t1'))?.coordinator, 'n1');
    assert.match(await readFile(`${file}.lock`, 'utf8'), new RegExp(`^${process.pid} `));
  });

  it('stays bounded by its live records: compaction rewrites the file', async () => {
    const a = await host();
    await a.transactions.open('keeper', 'n1', work(9), LONG);
    await a.transactions.decide('keeper', 'commit', []);
    const total = 800;
    for (let start = 0; start < total; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, k) => {
          const id = `tx-${start + k}`;
          await a.transactions.open(id, 'n1', work(k), LONG);
          await a.transactions.decide(id, 'commit', []);
          await a.transactions.markDone(id, 0);
          await a.transactions.markDone(id, 1);
          await a.transactions.finish(id, 0);
        }),
      );
    }
    // 800 transactions wrote 4000 lines; the file holds at most the threshold plus one group.
    const kept = await lines(file);
    assert.ok(kept.length <= 1000 + 50, `file has ${kept.length} lines`);
    assert.ok(!existsSync(`${file}.compact`), 'no temp file left');
    await a.close();
    const b = await host('n2');
    assert.equal((await b.transactions.get('keeper'))?.decision, 'commit');
    assert.equal(await b.transactions.get('tx-799'), undefined);
    assert.deepEqual(
      (await b.transactions.unfinishedFor('inv', 10)).map((r) => r.id),
      ['keeper'],
    );
  });

  it('keeps a write that resolved before the process was killed with SIGKILL', async () => {
    const child = await writer(file, 3);
    // Killed the moment the last write resolved: nothing after it ran.
    child.kill('SIGKILL');
    await child.exited;
    assert.equal(existsSync(`${file}.lock`), true, 'the dead process left its lock');
    const b = await host('after');
    const records = await Promise.all(
      ['crash-0', 'crash-1', 'crash-2'].map((id) => b.transactions.get(id)),
    );
    assert.deepEqual(
      records.map((r) => r?.decision),
      ['commit', 'abort', 'commit'],
    );
    assert.deepEqual([...records[2]!.participants[0]!.work], [2, 1, 2]);
  });

  it('refuses a log another live process holds, and takes it once that one died', async () => {
    const child = await writer(file, 1);
    try {
      const b = await host('other');
      await assert.rejects(b.transactions.get('crash-0'), (error: Error) => {
        assert.ok(error.message.includes(`process ${child.pid}`), error.message);
        return true;
      });
      child.kill('SIGKILL');
      await child.exited;
      assert.equal((await b.transactions.get('crash-0'))?.decision, 'commit');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('shares one file among the nodes of one network', async () => {
    const network = new MemoryNetwork({ transactionLog: file });
    const a = new MemoryBackend({ nodeId: 'a', network });
    const b = new MemoryBackend({ nodeId: 'b', network });
    open.push(a, b);
    await a.transactions.open('t1', 'a', work(1), LONG);
    assert.equal(await b.transactions.decide('t1', 'commit', []), 'commit');
    await a.close();
    assert.equal(existsSync(`${file}.lock`), true, 'held while a node is left');
    await b.close();
    assert.equal(existsSync(`${file}.lock`), false);
  });

  it('writes concurrent changes together (group commit: one fdatasync for many)', async () => {
    const network = new MemoryNetwork({ transactionLog: file });
    const a = new MemoryBackend({ nodeId: 'a', network });
    open.push(a);
    const decided = await Promise.all(
      Array.from({ length: 100 }, (_, i) => a.transactions.decide(`t${i}`, 'commit', [])),
    );
    assert.ok(decided.every((d) => d === 'abort'));
    assert.equal((await lines(file)).length, 100);
    assert.ok(network.txLog.syncs <= 3, `${network.txLog.syncs} syncs for 100 writes`);
  });

  it('names the option when the log cannot be opened', async () => {
    const a = await host('n1', undefined, dir); // a folder, not a file
    await assert.rejects(a.transactions.open('t1', 'n1', work(1), LONG), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'PB_BACKEND_UNAVAILABLE');
      assert.match(error.message, /transactions\.logFile/);
      return true;
    });
  });

  it('validates the network option', () => {
    assert.throws(() => new MemoryNetwork({ transactionLog: '' }), { code: 'PB_VALIDATION' });
    assert.throws(() => new MemoryNetwork({ transactionLog: 3 as unknown as string }), {
      code: 'PB_VALIDATION',
    });
  });
});

describe('resolveBackend: the transaction log of a lone memory host', () => {
  let dir: string;
  let cwd: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pb-txcwd-'));
    cwd = process.cwd();
    process.chdir(dir);
  });
  afterEach(async () => {
    process.chdir(cwd);
    await rm(dir, { recursive: true, force: true });
  });

  it('defaults to .plugboard/transactions.log under the working folder, created on first use', async () => {
    const backend = await resolveBackend('memory', { nodeId: 'n', logger: silentLogger });
    await backend.start();
    assert.equal(existsSync(join(dir, '.plugboard')), false);
    await backend.transactions.open('t1', 'n', work(1), LONG);
    assert.equal(existsSync(join(dir, '.plugboard', 'transactions.log')), true);
    await backend.close();
  });

  it('takes a file of its own, or false for memory only', async () => {
    const own = await resolveBackend(undefined, {
      nodeId: 'n',
      logger: silentLogger,
      transactionLog: 'logs/tx.log',
    });
    await own.transactions.open('t1', 'n', work(1), LONG);
    assert.equal(existsSync(join(dir, 'logs', 'tx.log')), true);
    await own.close();
    const none = await resolveBackend('memory', {
      nodeId: 'n',
      logger: silentLogger,
      transactionLog: false,
    });
    await none.transactions.open('t1', 'n', work(1), LONG);
    await none.close();
    assert.equal(existsSync(join(dir, '.plugboard')), false);
  });
});
