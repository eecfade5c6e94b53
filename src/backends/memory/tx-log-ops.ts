import type { TxDecision, TxLogRecord } from '../ports.js';

/** One participant as an op carries it (bytes stay bytes in memory; base64 only in the file). */
export interface TxOpParticipant {
  readonly resource: string;
  readonly work: Uint8Array;
  readonly done: boolean;
}

/**
 * One change to the coordinator log. The in-memory state is built only by applying these, so a
 * file log that replays its lines rebuilds exactly what the live state was. Applying an op twice
 * changes nothing (a replay may meet a line a compaction snapshot already holds).
 */
export type TxOp =
  | {
      readonly o: 'open';
      readonly id: string;
      readonly owner: string;
      readonly at: number;
      readonly until: number;
      readonly participants: readonly TxOpParticipant[];
    }
  /** With no record, `at` is when the presumed abort was recorded. */
  | {
      readonly o: 'decide';
      readonly id: string;
      readonly decision: TxDecision;
      readonly reasons: readonly string[];
      readonly at: number;
    }
  | { readonly o: 'done'; readonly id: string; readonly index: number }
  /** `removeAt`: when the finished record goes (epoch ms). */
  | { readonly o: 'finish'; readonly id: string; readonly removeAt: number }
  | { readonly o: 'lease'; readonly id: string; readonly owner: string; readonly until: number }
  /** A whole record, as a compaction snapshot writes it (`removeAt` set once finished). */
  | ({ readonly o: 'rec'; readonly removeAt: number | undefined } & Omit<TxLogRecord, 'finished'>);
