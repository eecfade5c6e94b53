import { mkdir, open, readFile, rename, stat, type FileHandle } from 'node:fs/promises';
import {
  newGroupBatch,
  syncDir,
  truncateDurably,
  writeAll,
  type GroupBatch,
} from './log-file-io.js';
import { dirname } from 'node:path';
import { BackendUnavailableError } from '../../errors/errors.js';
import { BadLineError, decodeOp, encodeOp } from './tx-log-codec.js';
import { TxLogLock } from './tx-log-lock.js';
import type { TxOp } from './tx-log-ops.js';

/** Compact once the file holds this many lines and dead ones dominate. */
export const COMPACT_MIN_LINES = 1000;
/** ... i.e. more than this many lines per live record. */
export const COMPACT_FACTOR = 4;

/** Where the log reports what it repaired (a torn tail). */
export type TxLogWarn = (message: string, details: Record<string, unknown>) => void;

type Batch = GroupBatch<string[]>;

function corrupt(path: string, line: number, why: string): BackendUnavailableError {
  return new BackendUnavailableError(
    `The transaction log ${path} is corrupt at line ${line} (${why}); it was not written by ` +
      'this version or was damaged. Move it away to start with an empty log (in-doubt ' +
      'transactions in it are then not recovered), or point the host option ' +
      '"transactions.logFile" at another file.',
    { retryable: false, details: { field: 'transactions.logFile', path, line } },
  );
}

/**
 * The file behind a durable coordinator log: JSON lines, one op each, appended with group
 * commit (ops arriving while a write + `fdatasync` runs share the next one). A write resolves
 * only once on disk. Compacted (rewritten from a snapshot of the live records, then renamed over
 * the log) when dead lines dominate, so the file stays bounded by the live records.
 */
export class TxLogFile {
  private readonly lock: TxLogLock;
  private handle: FileHandle | undefined;
  private lines = 0;
  /** Ops waiting for the next write, and the one being written. */
  private batch: Batch | undefined;
  private writing: Batch | undefined;
  private inflight: Promise<void> | undefined;
  private failure: unknown;
  /** Writes (each one `fdatasync`) so far: group commit makes them fewer than the ops. */
  syncs = 0;

  constructor(
    readonly path: string,
    /** The live records as ops, and how many there are (a compaction writes them). */
    private readonly live: { snapshot(): TxOp[]; readonly size: number },
    private readonly warn: TxLogWarn,
  ) {
    this.lock = new TxLogLock(path);
  }

  /**
   * Take the lock (creating the folder), then read every op already in the file. A torn or
   * corrupt last line (a crash mid-write) is cut off with a warning; any other bad line is an
   * error.
   */
  async open(apply: (op: TxOp) => void): Promise<void> {
    const dir = dirname(this.path);
    const madeDir = await mkdir(dir, { recursive: true });
    await this.lock.acquire();
    try {
      const ops = await this.read();
      for (const op of ops) apply(op);
      const existed =
        this.lines > 0 ||
        (await stat(this.path).then(
          () => true,
          () => false,
        ));
      this.handle = await open(this.path, 'a');
      // What was read may sit in the page cache only (a host killed between its write and its
      // fdatasync, or between a compaction's rename and its folder sync): recovery acts on it,
      // so it goes to disk first. A new file (and folder) must survive a crash as well.
      if (existed) await this.handle.datasync();
      await syncDir(dir);
      if (madeDir !== undefined) await syncDir(dirname(madeDir));
    } catch (error) {
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
      await this.lock.release();
      throw error;
    }
  }

  /** Append one op; it is written with the next group. */
  append(op: TxOp): void {
    (this.batch ??= newGroupBatch<string[]>([])).items.push(encodeOp(op));
    if (this.inflight === undefined) this.inflight = this.drain();
  }

  /** Resolves once every op appended so far is on disk (rejects if writing failed). */
  durable(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failed());
    return this.batch?.done ?? this.writing?.done ?? Promise.resolve();
  }

  /** Wait for pending writes, then close the file and release the lock. */
  async close(): Promise<void> {
    await this.inflight;
    try {
      await this.handle?.close();
    } finally {
      this.handle = undefined;
      await this.lock.release();
    }
  }

  private async drain(): Promise<void> {
    // Ops appended in this same turn join the first write.
    await Promise.resolve();
    for (let batch = this.batch; batch !== undefined; batch = this.batch) {
      this.batch = undefined;
      this.writing = batch;
      try {
        if (this.failure !== undefined) throw this.failed();
        const total = this.lines + batch.items.length;
        if (total >= COMPACT_MIN_LINES && total > COMPACT_FACTOR * Math.max(1, this.live.size)) {
          // The snapshot already holds this batch's ops (the state changed before they queued).
          await this.compact(this.live.snapshot());
        } else {
          await writeAll(this.handle!, batch.items.join(''));
          await this.handle!.datasync();
          this.syncs++;
          this.lines = total;
        }
        batch.resolve();
      } catch (error) {
        // The memory state is now ahead of the file: refuse everything until reopened.
        this.failure ??= error;
        batch.reject(this.failed());
      }
    }
    this.writing = undefined;
    this.inflight = undefined;
  }

  private failed(): BackendUnavailableError {
    return new BackendUnavailableError(
      `Writing the transaction log ${this.path} failed; it refuses every call until its hosts ` +
        'restart.',
      { cause: this.failure, details: { field: 'transactions.logFile', path: this.path } },
    );
  }

  /** Rewrite the file from `ops`: temp file, fsync, rename over the log, fsync the folder. */
  private async compact(ops: TxOp[]): Promise<void> {
    const temp = `${this.path}.compact`;
    const out = await open(temp, 'w');
    try {
      await writeAll(out, ops.map(encodeOp).join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(temp, this.path);
    await syncDir(dirname(this.path));
    await this.handle!.close();
    this.handle = await open(this.path, 'a');
    this.lines = ops.length;
  }

  private async read(): Promise<TxOp[]> {
    let data: Buffer;
    try {
      data = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const ops: TxOp[] = [];
    let start = 0;
    let good = 0;
    let number = 0;
    while (start < data.length) {
      const end = data.indexOf(0x0a, start);
      number++;
      const last = end === -1 || end === data.length - 1;
      try {
        if (end === -1) throw new BadLineError('no newline: torn write');
        ops.push(decodeOp(data.toString('utf8', start, end)));
      } catch (error) {
        if (!(error instanceof BadLineError)) throw error;
        if (!last) throw corrupt(this.path, number, error.message);
        await this.cut(good, data.length, number, error.message);
        break;
      }
      good = end + 1;
      start = good;
    }
    this.lines = ops.length;
    return ops;
  }

  /** Drop a torn last line (a write cut short by a crash: never acknowledged to anyone). */
  private async cut(size: number, was: number, line: number, why: string): Promise<void> {
    this.warn(`The transaction log's last line was torn or corrupt (${why}); it was ignored.`, {
      path: this.path,
      line,
      bytesDropped: was - size,
    });
    await truncateDurably(this.path, size);
  }
}
