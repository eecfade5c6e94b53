import type { TxLogParticipant, TxLogRecord } from '../ports.js';

/**
 * The fields of a transaction's record hash (`{ns:tx:<p>}:r:<id>`), written by the tx scripts:
 *
 * | field | holds |
 * | --- | --- |
 * | `c` | coordinator node id (empty for a presumed abort recorded without an open) |
 * | `t` | when it was opened (Redis TIME, epoch ms) |
 * | `n` | number of participants |
 * | `r<i>`, `w<i>` | participant i's resource name and work (raw bytes) |
 * | `x<i>` | `1` once participant i's phase two is done |
 * | `d` | the decision, `commit` or `abort` (absent while in doubt) |
 * | `y` | reasons of an abort, a JSON array of strings |
 * | `o`, `l` | lease owner, and when the lease ends (Redis TIME, epoch ms) |
 * | `f` | `1` once finished (the key then expires after the retention) |
 */
export function parseTxRecord(id: string, reply: unknown): TxLogRecord | undefined {
  const fields = fieldsOf(reply);
  if (fields === undefined || fields.size === 0) return undefined;
  const text = (name: string): string | undefined => fields.get(name)?.toString('utf8');
  const count = Number(text('n'));
  const createdAt = Number(text('t'));
  const leaseUntil = Number(text('l'));
  const decision = text('d');
  if (
    !Number.isSafeInteger(count) ||
    count < 0 ||
    !Number.isFinite(createdAt) ||
    !Number.isFinite(leaseUntil) ||
    (decision !== undefined && decision !== 'commit' && decision !== 'abort')
  )
    return undefined;
  const participants: TxLogParticipant[] = [];
  for (let i = 0; i < count; i++) {
    const resource = text(`r${i}`);
    const work = fields.get(`w${i}`);
    if (resource === undefined || work === undefined) return undefined;
    participants.push({ resource, work: new Uint8Array(work), done: fields.has(`x${i}`) });
  }
  const reasons = parseReasons(text('y'));
  if (reasons === undefined) return undefined;
  return {
    id,
    coordinator: text('c') ?? '',
    createdAt,
    decision,
    reasons,
    participants,
    leaseOwner: text('o') ?? '',
    leaseUntil,
    finished: fields.has('f'),
  };
}

function parseReasons(json: string | undefined): string[] | undefined {
  if (json === undefined) return [];
  try {
    const parsed = JSON.parse(json) as unknown;
    return Array.isArray(parsed) && parsed.every((r) => typeof r === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fields of a record from a script's reply (HGETALL's flat array) or from HGETALL sent as a
 * command (ioredis turns that one into an object); undefined for anything else.
 */
function fieldsOf(reply: unknown): Map<string, Buffer> | undefined {
  const fields = new Map<string, Buffer>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const name = reply[i] as unknown;
      const value = reply[i + 1] as unknown;
      if (!Buffer.isBuffer(name) || !Buffer.isBuffer(value)) return undefined;
      fields.set(name.toString('latin1'), value);
    }
    return fields;
  }
  if (typeof reply !== 'object' || reply === null) return undefined;
  for (const [name, value] of Object.entries(reply)) {
    if (!Buffer.isBuffer(value)) return undefined;
    fields.set(name, value);
  }
  return fields;
}
