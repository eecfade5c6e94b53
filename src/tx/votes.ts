import { isPlugboardError } from '../errors/errors.js';
import type { AbortReason } from './types.js';

/** A prepare vote as it travels from a named resource to its coordinator. */
export type WireVote = { vote: 'prepared' } | { vote: 'refused'; reason: string };

/**
 * Read a participant's answer: `undefined`, `true` and `{ status: 'prepared' }` are yes; `false`
 * and `{ status: 'aborted' | 'refused' }` are no; anything else is a no that says so (a typo in
 * a vote must never commit).
 */
export function readVote(vote: unknown): WireVote {
  if (vote === undefined || vote === true) return { vote: 'prepared' };
  if (vote === false) return { vote: 'refused', reason: 'voted no' };
  if (typeof vote === 'object' && vote !== null) {
    const { status, reason } = vote as { status?: unknown; reason?: unknown };
    if (status === 'prepared') return { vote: 'prepared' };
    if (status === 'aborted' || status === 'refused') {
      return { vote: 'refused', reason: typeof reason === 'string' ? reason : `voted ${status}` };
    }
  }
  return { vote: 'refused', reason: `answered prepare with an unknown vote (${describe(vote)})` };
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** An abort reason for a participant whose prepare threw or rejected. */
export function errorReason(participant: string, error: unknown): AbortReason {
  const message = error instanceof Error ? error.message : String(error);
  const code = isPlugboardError(error) ? error.code : (error as { code?: unknown } | null)?.code;
  return {
    participant,
    kind: 'error',
    message,
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** Reasons as the log keeps them (strings). */
export function reasonText(reason: AbortReason): string {
  return `${reason.participant}: ${reason.kind}: ${reason.message}`;
}
