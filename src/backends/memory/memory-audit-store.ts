import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { BackendUnavailableError, isPlugboardError } from '../../errors/errors.js';
import type { AuditHead, AuditRecord, AuditStart, AuditStore } from '../ports.js';
import { AuditLogFile, type AuditFileWarn } from './audit-log-file.js';
import { closedError } from './closed.js';

/** Where the embedded backend keeps its audit log when a file is asked for by default. */
export const DEFAULT_AUDIT_LOG = '.plugboard/audit.log';

function warner(logger: Pick<Logger, 'warn'> | undefined): AuditFileWarn {
  if (logger !== undefined) return (message, details) => logger.warn(details, message);
  return (message, details) => process.emitWarning(`${message} ${JSON.stringify(details)}`);
}

/**
 * The audit chain of one memory network, shared by its nodes (so they form one chain), and
 * with `file` the JSON-lines file that makes it durable. Every change is applied to the state at
 * once (the next writer chains after it) and resolves once it is on disk. The file is opened
 * lazily: by the first write, or by the first read when it exists; a network that never audits
 * never creates it.
 */
export class MemoryAuditLog {
  /** The records in stored order (exposed so tests can tamper with them). */
  readonly records: AuditRecord[] = [];
  checkpoint: Uint8Array | undefined;
  start: AuditStart = { seq: 0, hash: '', anchor: undefined };
  /** Absolute path of the file; undefined when the log is kept in memory only. */
  readonly path: string | undefined;
  private readonly warn: AuditFileWarn;
  private file: AuditLogFile | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(file: string | false | undefined, logger?: Pick<Logger, 'warn'>) {
    this.path = typeof file === 'string' ? resolve(file) : undefined;
    this.warn = warner(logger);
  }

  head(): AuditHead {
    const last = this.records.at(-1);
    return {
      seq: last?.seq ?? this.start.seq,
      hash: last?.hash ?? this.start.hash,
      checkpoint: this.checkpoint,
      start: this.start,
    };
  }

  /** Open the file if it is needed now (`write`: the call may add to it). */
  async ready(write: boolean): Promise<AuditLogFile | undefined> {
    if (this.path === undefined) return undefined;
    if (this.closing !== undefined) await this.closing;
    if (this.file === undefined && (write || this.opening !== undefined || existsSync(this.path)))
      await (this.opening ??= this.openFile(this.path).finally(() => (this.opening = undefined)));
    return this.file;
  }

  /** Let go of the file (and its lock) once no node uses the log; read again when next used. */
  release(): Promise<void> {
    if (this.file === undefined && this.opening === undefined) return Promise.resolve();
    this.closing ??= (async () => {
      // An open still running finishes first (its lock is released with the file).
      await this.opening?.catch(() => undefined);
      const file = this.file;
      this.file = undefined;
      await file?.close();
    })().finally(() => (this.closing = undefined));
    return this.closing;
  }

  private async openFile(path: string): Promise<void> {
    const file = new AuditLogFile(path, this.warn);
    try {
      const content = await file.open();
      this.records.length = 0;
      this.records.push(...content.records);
      this.start = content.start;
      this.checkpoint = content.checkpoint;
      this.file = file;
    } catch (error) {
      if (isPlugboardError(error)) throw error;
      throw new BackendUnavailableError(
        `Cannot open the audit log ${path} (${String(error)}); check the host option ` +
          '"audit.file" (a file path, or false to keep the log in memory).',
        { cause: error, details: { field: 'audit.file', path } },
      );
    }
  }
}

/** One node's view of its network's {@link MemoryAuditLog}. */
export class MemoryAuditStore implements AuditStore {
  private closed = false;

  constructor(private readonly log: MemoryAuditLog) {}

  async head(): Promise<AuditHead> {
    this.assertOpen();
    await this.log.ready(false);
    return this.log.head();
  }

  async append(
    expected: { seq: number; hash: string },
    records: readonly AuditRecord[],
    checkpoint: Uint8Array,
  ): Promise<boolean> {
    this.assertOpen();
    const file = await this.log.ready(true);
    const head = this.log.head();
    if (head.seq !== expected.seq || head.hash !== expected.hash) return false;
    records.forEach((r, i) => {
      if (r.seq !== expected.seq + 1 + i)
        throw new RangeError(
          `Audit record ${i} must have seq ${expected.seq + 1 + i}, got ${r.seq}.`,
        );
    });
    this.log.records.push(...records);
    this.log.checkpoint = checkpoint;
    await file?.append(records, checkpoint);
    return true;
  }

  async read(fromSeq: number, count: number): Promise<AuditRecord[]> {
    this.assertOpen();
    await this.log.ready(false);
    const end = fromSeq + count;
    return this.log.records.filter((r) => r.seq >= fromSeq && r.seq < end);
  }

  async trim(start: { seq: number; hash: string }, anchor: Uint8Array): Promise<number> {
    this.assertOpen();
    const file = await this.log.ready(true);
    const records = this.log.records;
    const at = records.findIndex((r) => r.seq === start.seq);
    if (at === -1 || records[at]!.hash !== start.hash || start.seq <= this.log.start.seq) return 0;
    records.splice(0, at + 1);
    this.log.start = { seq: start.seq, hash: start.hash, anchor };
    // The file is rewritten from the log as it is then (other nodes may append meanwhile).
    await file?.rewrite(() => ({
      start: this.log.start,
      records: this.log.records,
      checkpoint: this.log.checkpoint,
    }));
    return at + 1;
  }

  close(): void {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}
