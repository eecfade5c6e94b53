import type { Logger } from 'pino';
import type { AuditRecord, AuditStore } from '../../backends/ports.js';
import { BackpressureError, ClosedError, ValidationError } from '../../errors/errors.js';
import { resolveAuditOptions, type ResolvedAudit } from './audit-options.js';
import { chainHash, encodeAnchor } from './chain.js';
import { decodeEntry, entryBytes, prepareEntry, type PreparedEntry } from './entry.js';
import { PAGE, verifyChain } from './verify.js';
import type {
  AuditEntry,
  AuditEntryInput,
  AuditFilter,
  AuditOptions,
  AuditVerification,
} from './types.js';

export interface AuditEnv {
  readonly store: AuditStore;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly options: AuditOptions | undefined;
}

/** Entries per append (one script call on Redis, one write on a file). */
const MAX_BATCH = 256;
/** ... and bytes per append. */
const MAX_BATCH_BYTES = 1024 * 1024;
/** Tries of one batch against writers on other nodes before it fails. */
const MAX_ATTEMPTS = 64;
/** `query` default and largest limit. */
const DEFAULT_QUERY_LIMIT = 1000;
const MAX_QUERY_LIMIT = 100_000;

interface Pending {
  readonly entry: PreparedEntry;
  resolve(entry: AuditEntry): void;
  reject(error: unknown): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const msOf = (value: Date | number | undefined): number | undefined =>
  value === undefined ? undefined : value instanceof Date ? value.getTime() : value;

/**
 * One per host: appends entries to the cluster's one chain for every plugin and for the host
 * itself. Concurrent `log` calls are buffered (bounded in bytes) and appended together; each
 * append chains from the head this host last saw and is refused by the store if another node
 * appended meanwhile, in which case the batch is chained again from the new head (bounded
 * tries). Each append also stores a checkpoint (seq and hash of the new head, signed with
 * `audit.checkpointKey`), so that `verify` catches a cut end or a rewritten log.
 */
export class AuditCore {
  private readonly config: ResolvedAudit;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private flushing: Promise<void> | undefined;
  /** The head after this host's last append (a guess: the store has the last word). */
  private known: { seq: number; hash: string } | undefined;
  /** Where the kept chain starts (for the retention bound), as last read. */
  private startSeq = 0;
  /** Highest seq this host appended: a log ending before it was cut. */
  private seen = 0;
  private warnedUnanchored = false;
  private closed = false;

  constructor(private readonly env: AuditEnv) {
    this.config = resolveAuditOptions(env.options);
  }

  /** Append `entry` as written by `plugin` (a plugin's name, or `host`). */
  log(plugin: string, entry: AuditEntryInput): Promise<AuditEntry> {
    if (this.closed)
      return Promise.reject(
        new ClosedError('The audit log of this host is closed (the host stopped).'),
      );
    let prepared: PreparedEntry;
    try {
      prepared = prepareEntry(
        entry,
        plugin,
        this.env.nodeId,
        this.config.redact,
        this.config.maxEntryBytes,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    // Said once a plugin uses the log (a host that only records its own lifecycle stays quiet).
    if (this.config.key === undefined && plugin !== 'host' && !this.warnedUnanchored) {
      this.warnedUnanchored = true;
      this.env.logger.warn(
        'The audit log has no checkpoint key (host option "audit.checkpointKey"): entries are hash-chained, but cutting entries off its end or rewriting it whole cannot be detected.',
      );
    }
    if (this.pendingBytes + prepared.bytes > this.config.maxBufferBytes) {
      return Promise.reject(
        new BackpressureError(
          `The audit log has ${this.pendingBytes} bytes of entries waiting to be written (limit ${this.config.maxBufferBytes}, host option "audit.maxBufferBytes"); retry once it drains.`,
          { details: { pendingBytes: this.pendingBytes, limit: this.config.maxBufferBytes } },
        ),
      );
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.pending.push({ entry: prepared, resolve, reject });
      this.pendingBytes += prepared.bytes;
      // Entries logged in this same turn join the first append.
      this.flushing ??= Promise.resolve().then(() => this.flush());
    });
  }

  /**
   * Append as the host (lifecycle, denials, key rotation): cheap (the entry joins the next
   * batch), never throws, failures are logged. Entries recorded after the host closed its log
   * are dropped.
   */
  record(entry: AuditEntryInput): void {
    if (this.closed) return;
    this.log('host', entry).catch((error: unknown) => {
      try {
        this.env.logger.warn(
          { err: error, action: (entry as Partial<AuditEntryInput> | undefined)?.action },
          'Could not write an audit entry of the host',
        );
      } catch {
        // A logger that throws must not turn auditing into a failure of the caller.
      }
    });
  }

  async query(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const limit = filter.limit ?? DEFAULT_QUERY_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_QUERY_LIMIT)
      throw new ValidationError(
        `Audit query "limit" must be an integer from 0 to ${MAX_QUERY_LIMIT}, got ${String(limit)}; page with "afterSeq" for more.`,
        { details: { field: 'limit' } },
      );
    const since = msOf(filter.since);
    const until = msOf(filter.until);
    const head = await this.env.store.head();
    const found: AuditEntry[] = [];
    let from = Math.max(head.start.seq, filter.afterSeq ?? 0) + 1;
    while (from <= head.seq && found.length < limit) {
      const count = Math.min(PAGE, head.seq - from + 1);
      for (const record of await this.env.store.read(from, count)) {
        const entry = decodeEntry(record.entry, record.hash);
        if (
          entry === undefined ||
          (filter.action !== undefined && entry.action !== filter.action) ||
          (filter.actor !== undefined && entry.actor !== filter.actor) ||
          (filter.target !== undefined && entry.target !== filter.target) ||
          (filter.plugin !== undefined && entry.plugin !== filter.plugin) ||
          (since !== undefined && entry.timestamp < since) ||
          (until !== undefined && entry.timestamp > until)
        )
          continue;
        found.push(entry);
        if (found.length === limit) break;
      }
      from += count;
    }
    return found;
  }

  verify(): Promise<AuditVerification> {
    return verifyChain(this.env.store, this.config.key, this.seen);
  }

  /** Wait for the entries logged so far to be written; later calls are refused. */
  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    this.closed = true;
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        let bytes = 0;
        let count = 0;
        while (
          count < this.pending.length &&
          count < MAX_BATCH &&
          (count === 0 || bytes + this.pending[count]!.entry.bytes <= MAX_BATCH_BYTES)
        )
          bytes += this.pending[count++]!.entry.bytes;
        const batch = this.pending.splice(0, count);
        try {
          const stored = await this.append(batch.map((p) => p.entry));
          batch.forEach((p, i) => p.resolve(stored[i]!));
        } catch (error) {
          for (const p of batch) p.reject(error);
        } finally {
          this.pendingBytes -= bytes;
        }
        if (this.config.maxEntries !== undefined) await this.applyRetention(this.config.maxEntries);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Chain `entries` after the store's head and append them, again after each conflict. */
  private async append(entries: readonly PreparedEntry[]): Promise<AuditEntry[]> {
    const { store } = this.env;
    let head = this.known ?? (await this.readHead());
    for (let attempt = 1; ; attempt++) {
      const records: AuditRecord[] = [];
      let prev = head.hash;
      entries.forEach((entry, i) => {
        const bytes = entryBytes(entry, head.seq + 1 + i);
        prev = chainHash(prev, bytes);
        records.push({ seq: head.seq + 1 + i, hash: prev, entry: bytes });
      });
      const last = records.at(-1)!;
      const checkpoint = encodeAnchor('checkpoint', last.seq, last.hash, this.config.key);
      if (await store.append(head, records, checkpoint)) {
        this.known = { seq: last.seq, hash: last.hash };
        this.seen = Math.max(this.seen, last.seq);
        return records.map((r) => decodeEntry(r.entry, r.hash)!);
      }
      if (attempt >= MAX_ATTEMPTS) {
        this.known = undefined;
        throw new BackpressureError(
          `The audit log stayed contended for ${MAX_ATTEMPTS} tries (other hosts kept appending); retry later.`,
          { details: { attempts: attempt } },
        );
      }
      // Another node appended: back off a little (more after repeated losses) and rechain.
      if (attempt > 2) await sleep(Math.random() * Math.min(50, 2 ** (attempt - 2)));
      head = await this.readHead();
    }
  }

  private async readHead(): Promise<{ seq: number; hash: string }> {
    const head = await this.env.store.head();
    this.startSeq = head.start.seq;
    return { seq: head.seq, hash: head.hash };
  }

  /**
   * Keep at most `max` entries: once 10% more (at least one batch more) are kept, drop the
   * oldest and store the new start's signed anchor. A failure only delays the trim.
   */
  private async applyRetention(max: number): Promise<void> {
    const head = this.known;
    if (head === undefined) return;
    const slack = Math.max(MAX_BATCH, Math.floor(max / 10));
    if (head.seq - this.startSeq <= max + slack) return;
    try {
      const state = await this.env.store.head();
      this.startSeq = state.start.seq;
      const target = state.seq - max;
      if (target <= state.start.seq) return;
      const [record] = await this.env.store.read(target, 1);
      if (record === undefined) return;
      const anchor = encodeAnchor('start', record.seq, record.hash, this.config.key);
      await this.env.store.trim({ seq: record.seq, hash: record.hash }, anchor);
      this.startSeq = Math.max(this.startSeq, record.seq);
    } catch (error) {
      this.env.logger.warn({ err: error }, 'Could not trim the audit log (audit.maxEntries)');
    }
  }
}
