/**
 * `context.auditLogger`: a durable, hash-chained, append-only log of who did what.
 */

/** What a plugin logs (`timestamp` defaults to now). */
export interface AuditEntryInput {
  readonly action: string;
  readonly actor: string;
  readonly target?: string;
  /** JSON-like values (Dates are kept as epoch ms); redacted paths are replaced before hashing. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly timestamp?: Date | number | string;
}

/** One entry as stored and returned by `query`. */
export interface AuditEntry {
  /** Its place in the cluster's one chain: 1, 2, 3... */
  readonly seq: number;
  readonly action: string;
  readonly actor: string;
  readonly target?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** The plugin (or `host`) that wrote the entry: set by the host, never by the caller. */
  readonly plugin: string;
  readonly nodeId: string;
  /** Hex SHA-256 of the previous entry's hash and this entry's canonical form. */
  readonly hash: string;
}

export interface AuditFilter {
  readonly action?: string;
  readonly actor?: string;
  readonly target?: string;
  readonly plugin?: string;
  /** Entries at or after this time. */
  readonly since?: Date | number;
  /** Entries at or before this time. */
  readonly until?: Date | number;
  /** Entries with a greater seq only (paging: pass the last seq you got). */
  readonly afterSeq?: number;
  /** At most this many (the oldest matching first); default 1000. */
  readonly limit?: number;
}

/** Why `verify()` refused an entry (or the chain's end). */
export type AuditFailure =
  /** The entry's content no longer matches its hash (edited in place). */
  | 'edited'
  /** The entry (and possibly more after it) is gone from the middle of the chain. */
  | 'missing'
  /** An entry sits at another entry's place (entries swapped or moved). */
  | 'out-of-order'
  /** An entry that was never appended through the chain was put in. */
  | 'inserted'
  /** The log ends before the signed checkpoint: entries were cut off its end. */
  | 'truncated'
  /** The checkpoint's signature is wrong: the log was rewritten (or the key changed). */
  | 'bad-checkpoint';

/** `verify()`: `ok`, or the first entry that breaks the chain and why. */
export interface AuditVerification {
  readonly ok: boolean;
  /** Entries checked. */
  readonly checked: number;
  /** Seq of the last entry of the chain (0: empty). */
  readonly head: number;
  /**
   * True when a checkpoint key is configured and the checkpoint's signature checked out: the
   * chain's end (and its start, when trimmed) cannot have been rewritten without the key.
   * False without a key: the chain still catches edits, moves and gaps, but not a rewrite.
   */
  readonly anchored: boolean;
  readonly firstBad?: {
    readonly seq: number;
    readonly reason: AuditFailure;
    /** What was found, in words. */
    readonly message: string;
  };
}

export interface AuditLogger {
  /**
   * Append an entry; resolves once it is durable (as the backend keeps it). May be called
   * without `await`: a failure nobody awaits is reported as `plugin.error`, never as an
   * unhandled rejection.
   */
  log(entry: AuditEntryInput): Promise<AuditEntry>;
  query(filter?: AuditFilter): Promise<AuditEntry[]>;
  verify(): Promise<AuditVerification>;
}

/** `createHost({ audit })`. */
export interface AuditOptions {
  /**
   * Secret that signs the chain's checkpoint (HMAC-SHA256 over its last seq and hash), so that
   * cutting entries off the end or rewriting the whole log is detected. At least 32 bytes:
   * a string (e.g. `openssl rand -base64 32`, read from the environment or a secret store, never
   * written in code) or bytes. Every host of a cluster needs the same key. Without it the log
   * works but is not anchored (a warning at start; `verify()` says `anchored: false`).
   */
  readonly checkpointKey?: string | Uint8Array;
  /**
   * The embedded backend's log file (JSON lines, appended with `fdatasync`). A path, or `false`
   * to keep the log in memory. Default: `.plugboard/audit.log` when
   * `NODE_ENV === 'production'`, in memory otherwise. Ignored by Redis (the log is in Redis)
   * and by a shared `MemoryNetwork` (which takes its own `auditLog` option).
   */
  readonly file?: string | false;
  /**
   * Paths of values replaced with `"[REDACTED]"` before an entry is hashed and stored, e.g.
   * `['metadata.password', 'metadata.card.*', 'target']`: dot-separated keys, `*` matching any
   * one key. `action`, `actor` and the host's own fields cannot be redacted.
   */
  readonly redact?: readonly string[];
  /**
   * Keep at most this many entries: older ones are dropped, and the new start is signed (with
   * `checkpointKey`) so `verify()` still checks the rest. Default: keep every entry (an audit
   * log is meant to be kept; archive and trim it with this option when it grows too large).
   */
  readonly maxEntries?: number;
  /** Largest entry, canonical JSON bytes (default 65536): larger ones are refused. */
  readonly maxEntryBytes?: number;
  /**
   * Bytes of entries waiting to be appended on this host (default 8 MiB); past it `log()`
   * rejects with `BackpressureError` until the backlog drains.
   */
  readonly maxBufferBytes?: number;
}
