import type { Logger } from 'pino';
import type { AuditStore } from '../../backends/ports.js';
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

/**
 * One per host: appends entries to the chain for every plugin and for the host itself.
 * BASE STUB (issue 11): keeps entries in a bounded array; the audit helper replaces it.
 */
export class AuditCore {
  private readonly entries: AuditEntry[] = [];

  constructor(private readonly env: AuditEnv) {}

  /** Append `entry` as written by `plugin` (a plugin's name, or `host`). */
  log(plugin: string, entry: AuditEntryInput): Promise<AuditEntry> {
    const stored: AuditEntry = {
      ...entry,
      seq: this.entries.length + 1,
      timestamp: Date.now(),
      plugin,
      nodeId: this.env.nodeId,
      hash: '',
    };
    if (this.entries.length < 10_000) this.entries.push(stored);
    return Promise.resolve(stored);
  }

  /** Append as the host; failures are logged, never thrown. */
  record(entry: AuditEntryInput): void {
    this.log('host', entry).catch((error: unknown) =>
      this.env.logger.warn({ err: error }, 'could not write an audit entry'),
    );
  }

  query(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    return Promise.resolve(
      this.entries.filter(
        (e) =>
          (filter.action === undefined || e.action === filter.action) &&
          (filter.actor === undefined || e.actor === filter.actor) &&
          (filter.plugin === undefined || e.plugin === filter.plugin),
      ),
    );
  }

  verify(): Promise<AuditVerification> {
    return Promise.resolve({ ok: true, checked: this.entries.length });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
