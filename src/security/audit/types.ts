/**
 * `context.auditLogger`: a durable, hash-chained, append-only log of who did what.
 */

/** What a plugin logs (`timestamp` defaults to now). */
export interface AuditEntryInput {
  readonly action: string;
  readonly actor: string;
  readonly target?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly timestamp?: Date | number | string;
}

/** One entry as stored and returned by `query`. */
export interface AuditEntry {
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
  readonly since?: Date | number;
  readonly until?: Date | number;
  readonly limit?: number;
}

/** `verify()`: `ok`, or the first entry that breaks the chain and why. */
export interface AuditVerification {
  readonly ok: boolean;
  readonly checked: number;
  readonly firstBad?: { readonly seq: number; readonly reason: string };
}

export interface AuditLogger {
  /** Append an entry; resolves once it is durable. */
  log(entry: AuditEntryInput): Promise<AuditEntry>;
  query(filter?: AuditFilter): Promise<AuditEntry[]>;
  verify(): Promise<AuditVerification>;
}

/** `createHost({ audit })`. */
export interface AuditOptions {
  readonly [key: string]: unknown;
}
