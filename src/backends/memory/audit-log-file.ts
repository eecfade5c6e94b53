import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import {
  newGroupBatch,
  syncDir,
  truncateDurably,
  writeAll,
  type GroupBatch,
} from './log-file-io.js';
import { dirname } from 'node:path';
import { BackendUnavailableError } from '../../errors/errors.js';
import { canonicalJson } from '../../security/audit/canonical.js';
import type { AuditRecord, AuditStart } from '../ports.js';
import { TxLogLock } from './tx-log-lock.js';

/** Where the file reports what it repaired or could not read. */
export type AuditFileWarn = (message: string, details: Record<string, unknown>) => void;

/** What a file holds once read. */
export interface AuditFileContent {
  readonly records: AuditRecord[];
  readonly start: AuditStart;
  /** The newest checkpoint: the one on the last batch, or the side file's if that one is newer. */
  readonly checkpoint: Uint8Array | undefined;
}

const LOCKED = { name: 'audit log', field: 'audit.file' } as const;

interface BatchItems {
  text: string;
  checkpoint: Uint8Array | undefined;
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** One record as a line: the entry's canonical JSON inline; the batch's checkpoint on its last. */
export function recordLine(record: AuditRecord, checkpoint?: Uint8Array): string {
  const cp = checkpoint === undefined ? '' : `,"cp":${text(checkpoint)}`;
  return `{"seq":${record.seq},"hash":${JSON.stringify(record.hash)},"entry":${text(record.entry)}${cp}}\n`;
}

function startLine(start: AuditStart): string {
  const anchor = start.anchor === undefined ? '' : `,"anchor":${text(start.anchor)}`;
  return `{"start":{"seq":${start.seq},"hash":${JSON.stringify(start.hash)}${anchor}}}\n`;
}

const seqOf = (cp: Uint8Array | undefined): number => {
  try {
    return cp === undefined ? -1 : Number((JSON.parse(text(cp)) as { seq?: unknown }).seq ?? -1);
  } catch {
    return -1;
  }
};

/**
 * The file behind the embedded backend's audit log: JSON lines, one record each, the batch's
 * checkpoint on its last line, appended with group commit (batches arriving while a write and
 * its `fdatasync` run share the next one). A write resolves only once on disk. After each write
 * the checkpoint is also copied to `<file>.head` (replaced whole by a rename), so cutting lines
 * off the end of the log leaves a checkpoint that says more than the log holds. A trim rewrites
 * the file (a temp file renamed over it) starting with a line naming where the chain now starts.
 */
export class AuditLogFile {
  private readonly lock: TxLogLock;
  private readonly headPath: string;
  private handle: FileHandle | undefined;
  private batch: GroupBatch<BatchItems> | undefined;
  private inflight: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    readonly path: string,
    private readonly warn: AuditFileWarn,
  ) {
    this.lock = new TxLogLock(path, LOCKED);
    this.headPath = `${path}.head`;
  }

  /** Take the lock (creating the folder), then read what the file holds. */
  async open(): Promise<AuditFileContent> {
    const dir = dirname(this.path);
    const madeDir = await mkdir(dir, { recursive: true });
    await this.lock.acquire();
    try {
      const content = await this.read();
      this.handle = await open(this.path, 'a');
      await this.handle.datasync();
      await syncDir(dir);
      if (madeDir !== undefined) await syncDir(dirname(madeDir));
      return content;
    } catch (error) {
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
      await this.lock.release();
      throw error;
    }
  }

  /** Append `records` with `checkpoint` on the last; resolves once on disk. */
  append(records: readonly AuditRecord[], checkpoint: Uint8Array): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failed());
    const batch = (this.batch ??= newGroupBatch<BatchItems>({ text: '', checkpoint: undefined }));
    records.forEach((record, i) => {
      batch.items.text += recordLine(record, i === records.length - 1 ? checkpoint : undefined);
    });
    batch.items.checkpoint = checkpoint;
    this.inflight ??= this.drain();
    return batch.done;
  }

  /**
   * Rewrite the whole file from what `state` holds (after a trim). Appends are held meanwhile:
   * `state` is read once every earlier write is on disk and none is running, and appends made
   * during the rewrite go to the new file after it (written to the old one, they were lost with
   * it when the new file was renamed over it).
   */
  async rewrite(
    state: () => {
      start: AuditStart;
      records: readonly AuditRecord[];
      checkpoint: Uint8Array | undefined;
    },
  ): Promise<void> {
    while (this.inflight !== undefined) await this.inflight;
    if (this.failure !== undefined) throw this.failed();
    const { start, records, checkpoint } = state();
    const last = records.length - 1;
    const content =
      startLine(start) +
      records.map((r, i) => recordLine(r, i === last ? checkpoint : undefined)).join('');
    let done!: () => void;
    // Set before any await: `append` queues its batch and leaves the drain to us.
    this.inflight = new Promise<void>((resolve) => (done = resolve));
    try {
      const temp = `${this.path}.rewrite`;
      const out = await open(temp, 'w');
      try {
        await writeAll(out, content);
        await out.sync();
      } finally {
        await out.close();
      }
      await rename(temp, this.path);
      await syncDir(dirname(this.path));
      await this.handle!.close();
      this.handle = await open(this.path, 'a');
    } catch (error) {
      // The memory state and the file may now differ: refuse everything until reopened.
      this.failure ??= error;
      throw this.failed();
    } finally {
      // Appends held meanwhile are written now (or refused, after a failure).
      this.inflight = this.batch === undefined ? undefined : this.drain();
      done();
    }
  }

  /** Wait for pending writes, then close the file and release the lock. */
  async close(): Promise<void> {
    // A rewrite that ends starts the drain of what it held: wait for that too.
    while (this.inflight !== undefined) await this.inflight;
    try {
      await this.handle?.close();
    } finally {
      this.handle = undefined;
      await this.lock.release();
    }
  }

  private async drain(): Promise<void> {
    // Batches appended in this same turn join the first write.
    await Promise.resolve();
    for (let batch = this.batch; batch !== undefined; batch = this.batch) {
      this.batch = undefined;
      try {
        if (this.failure !== undefined) throw this.failed();
        await writeAll(this.handle!, batch.items.text);
        await this.handle!.datasync();
        // Not synced: after a power loss it may lag the log (never lead it), which is safe.
        await writeFile(`${this.headPath}.tmp`, batch.items.checkpoint!);
        await rename(`${this.headPath}.tmp`, this.headPath);
        batch.resolve();
      } catch (error) {
        // The memory state is now ahead of the file: refuse everything until reopened.
        this.failure ??= error;
        batch.reject(this.failed());
      }
    }
    this.inflight = undefined;
  }

  private failed(): BackendUnavailableError {
    return new BackendUnavailableError(
      `Writing the audit log ${this.path} failed; it refuses every entry until its hosts restart.`,
      { cause: this.failure, details: { field: 'audit.file', path: this.path } },
    );
  }

  private async read(): Promise<AuditFileContent> {
    const records: AuditRecord[] = [];
    let start: AuditStart = { seq: 0, hash: '', anchor: undefined };
    let checkpoint: Uint8Array | undefined;
    let data: Buffer;
    try {
      data = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      data = Buffer.alloc(0);
    }
    let offset = 0;
    let number = 0;
    // The end of the last complete batch (its checkpoint line): a torn write is cut back to it.
    let committed = 0;
    let committedRecords = 0;
    while (offset < data.length) {
      const end = data.indexOf(0x0a, offset);
      number++;
      if (end === -1) {
        // A write cut short by a crash: it (and the rest of its batch) was never acknowledged.
        await this.cut(committed, data.length, number);
        records.length = committedRecords;
        break;
      }
      const line = data.toString('utf8', offset, end);
      offset = end + 1;
      const parsed = parseLine(line);
      if (parsed === undefined) {
        // A damaged line is kept as a record that cannot verify: verify() names it.
        const seq = (records.at(-1)?.seq ?? start.seq) + 1;
        this.warn('An audit log line is not a record; verify() will report it.', {
          path: this.path,
          line: number,
        });
        records.push({ seq, hash: '', entry: Buffer.from(line) });
        continue;
      }
      if ('start' in parsed) {
        start = parsed.start;
      } else {
        records.push(parsed.record);
        if (parsed.checkpoint !== undefined) checkpoint = parsed.checkpoint;
      }
      if ('start' in parsed || parsed.checkpoint !== undefined) {
        committed = offset;
        committedRecords = records.length;
      }
    }
    const side = await readFile(this.headPath).catch(() => undefined);
    if (side !== undefined && seqOf(side) > seqOf(checkpoint)) checkpoint = side;
    return { records, start, checkpoint };
  }

  private async cut(size: number, was: number, line: number): Promise<void> {
    this.warn("The audit log's last write was torn (a crash while writing); it was dropped.", {
      path: this.path,
      line,
      bytesDropped: was - size,
    });
    await truncateDurably(this.path, size);
  }
}

type Parsed =
  | { readonly start: AuditStart }
  | { readonly record: AuditRecord; readonly checkpoint: Uint8Array | undefined };

function parseLine(line: string): Parsed | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.start === 'object' && v.start !== null) {
    const s = v.start as Record<string, unknown>;
    if (!Number.isSafeInteger(s.seq) || typeof s.hash !== 'string') return undefined;
    return {
      start: {
        seq: s.seq as number,
        hash: s.hash,
        anchor: s.anchor === undefined ? undefined : Buffer.from(JSON.stringify(s.anchor)),
      },
    };
  }
  if (!Number.isSafeInteger(v.seq) || typeof v.hash !== 'string' || v.entry === undefined)
    return undefined;
  let entry: string;
  try {
    entry = canonicalJson(v.entry);
  } catch {
    entry = JSON.stringify(v.entry);
  }
  return {
    record: { seq: v.seq as number, hash: v.hash, entry: Buffer.from(entry) },
    checkpoint: v.cp === undefined ? undefined : Buffer.from(JSON.stringify(v.cp)),
  };
}
