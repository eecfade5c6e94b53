import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { BackendUnavailableError, isPlugboardError } from '../../errors/errors.js';
import { TxLogFile, type TxLogWarn } from './tx-log-file.js';
import { MemoryTxLogState } from './tx-log-state.js';

/** Where a host keeps its transaction log unless told otherwise (under its working folder). */
export const DEFAULT_TRANSACTION_LOG = '.plugboard/transactions.log';

function warner(logger: Pick<Logger, 'warn'> | undefined): TxLogWarn {
  if (logger !== undefined) return (message, details) => logger.warn(details, message);
  return (message, details) => process.emitWarning(`${message} ${JSON.stringify(details)}`);
}

function cannotOpen(path: string, cause: unknown): BackendUnavailableError {
  return new BackendUnavailableError(
    `Cannot open the transaction log ${path} (${String(cause)}); check the host option ` +
      '"transactions.logFile" (a file path, or false to keep the log in memory).',
    { cause, details: { field: 'transactions.logFile', path } },
  );
}

/**
 * The coordinator log of one memory network: its state, and (with `file`) the file that makes
 * it durable. Every call runs against the state atomically and resolves once what it changed
 * (and anything it read) is on disk. The file is opened lazily: by the first write, or by the
 * first read when it already exists (so recovery sees in-doubt records), never by building a
 * backend; a host that never logs a transaction never creates it.
 */
export class MemoryTxLog {
  readonly state: MemoryTxLogState;
  /** Absolute path of the file, undefined for a log kept in memory only. */
  readonly path: string | undefined;
  private readonly warn: TxLogWarn;
  private file: TxLogFile | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(file: string | false | undefined, logger?: Pick<Logger, 'warn'>) {
    this.path = typeof file === 'string' ? resolve(file) : undefined;
    this.warn = warner(logger);
    this.state = new MemoryTxLogState((op) => this.file?.append(op));
  }

  /**
   * Run `fn` on the state (with the clock's now); rejects with whatever it throws. `write`: the
   * call may record something, so the file is created if missing.
   */
  run<T>(write: boolean, fn: (state: MemoryTxLogState, now: number) => T): Promise<T> {
    if (this.path === undefined) {
      try {
        return Promise.resolve(fn(this.state, Date.now()));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.runOnFile(this.path, write, fn);
  }

  /** How many writes (each one `fdatasync`) the open file took so far; 0 in memory. */
  get syncs(): number {
    return this.file?.syncs ?? 0;
  }

  /** Let go of the file (its lock too) once no node uses the log; read again when next used. */
  release(): Promise<void> {
    if (this.path === undefined) return Promise.resolve();
    this.closing ??= this.closeFile().finally(() => (this.closing = undefined));
    return this.closing;
  }

  private async runOnFile<T>(
    path: string,
    write: boolean,
    fn: (state: MemoryTxLogState, now: number) => T,
  ): Promise<T> {
    if (this.closing !== undefined) await this.closing;
    if (this.file === undefined && (write || existsSync(path) || this.opening !== undefined)) {
      await this.openFile(path);
    }
    const result = fn(this.state, Date.now());
    await this.file?.durable();
    return result;
  }

  private openFile(path: string): Promise<void> {
    this.opening ??= (async () => {
      const state = this.state;
      const file = new TxLogFile(
        path,
        {
          snapshot: () => state.snapshot(Date.now()),
          get size() {
            return state.size;
          },
        },
        this.warn,
      );
      state.clear();
      try {
        await file.open((op) => state.replay(op));
      } catch (error) {
        state.clear();
        throw isPlugboardError(error) ? error : cannotOpen(path, error);
      }
      // Whoever held leases on these records is gone (the lock proves no other host has them).
      state.voidLeases(Date.now());
      this.file = file;
    })().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async closeFile(): Promise<void> {
    await this.opening?.catch(() => undefined);
    const file = this.file;
    this.file = undefined;
    await file?.close();
    this.state.clear();
  }
}
