import type { TimelineEntry } from './types.js';

/** The host's record of each lifecycle step: who started when and how long it took (like avvio's). */
export class Timeline {
  private readonly list: TimelineEntry[] = [];

  /** Append a finished step. */
  record(entry: TimelineEntry): void {
    this.list.push(Object.freeze({ ...entry }));
  }

  /** Every step so far, in the order they finished. */
  entries(): readonly TimelineEntry[] {
    return [...this.list];
  }
}

/**
 * Render a timeline as aligned text, one step per line, ordered by start time, times relative
 * to the first step:
 *
 * ```text
 *  +0ms     host             graph       ok       1ms
 *  +3ms     auth-plugin      activate    ok      12ms  level 0
 *  +15ms    calculator       activate    failed   2ms  level 1  boom
 * ```
 */
export function formatTimeline(entries: readonly TimelineEntry[]): string {
  if (entries.length === 0) return '';
  const origin = Math.min(...entries.map((e) => e.startedAt));
  const width = Math.max(...entries.map((e) => e.subject.length));
  // By start time (stable), so a step's sub-steps follow it, as in avvio's tree.
  return [...entries]
    .sort((a, b) => a.startedAt - b.startedAt)
    .map((e) => {
      const at = `+${e.startedAt - origin}ms`.padEnd(9);
      const duration = `${Math.round(e.durationMs)}ms`.padStart(7);
      const level = e.level === undefined ? '' : `  level ${e.level}`;
      const detail = e.detail === undefined ? '' : `  ${e.detail}`;
      return `${at} ${e.subject.padEnd(width)}  ${e.phase.padEnd(10)} ${e.outcome.padEnd(7)} ${duration}${level}${detail}`;
    })
    .join('\n');
}
