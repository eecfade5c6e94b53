import { randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { BackendUnavailableError } from '../../errors/errors.js';

/** Logs this process holds (two networks of one process must not share a file either). */
const heldHere = new Set<string>();

/** True when process `pid` runs (EPERM: it runs, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a lock guards, for its messages: the log's name and the host option naming its file. */
export interface LockedLog {
  readonly name: string;
  readonly field: string;
}

const TRANSACTION_LOG: LockedLog = { name: 'transaction log', field: 'transactions.logFile' };

function inUse(
  log: LockedLog,
  logPath: string,
  lockPath: string,
  pid: number | undefined,
): BackendUnavailableError {
  const by = pid === process.pid ? 'another host of this process' : `process ${String(pid)}`;
  return new BackendUnavailableError(
    `The ${log.name} ${logPath} is in use by ${by} (lock file ${lockPath}). Two hosts must ` +
      `never share one log: give each its own file with the host option "${log.field}", ` +
      'or set it to false to keep the log in memory. If no host uses it any more, delete the ' +
      'lock file.',
    { retryable: false, details: { field: log.field, path: logPath, lockPath, pid } },
  );
}

async function readLock(lockPath: string): Promise<string | undefined> {
  try {
    return await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const pidOf = (content: string): number | undefined => {
  const pid = Number.parseInt(content, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
};

const code = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/**
 * The lock file beside a log (`<log>.lock`, holding `<pid> <token>`): created whole by a hard
 * link from a temp file, so nobody ever reads a half-written one. A lock whose pid is dead is
 * stale and taken over; a live one is a conflict.
 */
export class TxLogLock {
  readonly lockPath: string;
  private readonly content = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  private held = false;

  constructor(
    readonly logPath: string,
    private readonly log: LockedLog = TRANSACTION_LOG,
  ) {
    this.lockPath = `${logPath}.lock`;
  }

  async acquire(): Promise<void> {
    if (heldHere.has(this.logPath)) throw inUse(this.log, this.logPath, this.lockPath, process.pid);
    heldHere.add(this.logPath);
    try {
      await this.take();
      this.held = true;
    } catch (error) {
      heldHere.delete(this.logPath);
      throw error;
    }
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    heldHere.delete(this.logPath);
    // Only our own lock goes (it is ours unless someone wrongly removed it meanwhile).
    if ((await readLock(this.lockPath)) === this.content) await unlink(this.lockPath);
  }

  private async take(): Promise<void> {
    const temp = `${this.lockPath}.${randomBytes(6).toString('hex')}`;
    await writeFile(temp, this.content);
    try {
      // Bounded: each round either takes the lock, fails, or removed a stale one.
      for (let round = 0; round < 5; round++) {
        try {
          await link(temp, this.lockPath);
          return;
        } catch (error) {
          if (code(error) !== 'EEXIST') throw error;
        }
        const found = await readLock(this.lockPath);
        if (found === undefined) continue;
        const pid = pidOf(found);
        // Our own pid without our own hold: left by a host of this process that never closed.
        if (pid !== undefined && pid !== process.pid && alive(pid)) {
          throw inUse(this.log, this.logPath, this.lockPath, pid);
        }
        await this.removeStale(found);
      }
      throw inUse(this.log, this.logPath, this.lockPath, undefined);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  /**
   * Move the stale lock aside and check it is the one we judged stale: another process may have
   * taken over in between, and its live lock must go back.
   */
  private async removeStale(found: string): Promise<void> {
    const aside = `${this.lockPath}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(this.lockPath, aside);
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      throw error;
    }
    const moved = await readLock(aside);
    if (moved !== found && moved !== undefined) {
      await link(aside, this.lockPath).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      throw inUse(this.log, this.logPath, this.lockPath, pidOf(moved));
    }
    await unlink(aside).catch(() => undefined);
  }
}
