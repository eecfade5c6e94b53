import type { TxDecision } from '../ports.js';
import type { TxOp, TxOpParticipant } from './tx-log-ops.js';

/**
 * One op as one JSON line of the file log (bytes as base64). Short keys: the log is written on
 * every step of every transaction.
 */
export function encodeOp(op: TxOp): string {
  let json: unknown;
  switch (op.o) {
    case 'open':
      json = { ...op, participants: op.participants.map((p) => [p.resource, b64(p.work)]) };
      break;
    case 'rec':
      json = {
        ...op,
        participants: op.participants.map((p) => [p.resource, b64(p.work), p.done]),
      };
      break;
    default:
      json = op;
  }
  return `${JSON.stringify(json)}\n`;
}

const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** Thrown for a line that is not an op this version writes. */
export class BadLineError extends Error {}

type Json = Record<string, unknown>;

function field<T>(line: Json, key: string, is: (v: unknown) => v is T): T {
  const value = line[key];
  if (!is(value)) throw new BadLineError(`field "${key}" is missing or malformed`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isDecision = (v: unknown): v is TxDecision => v === 'commit' || v === 'abort';
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function participants(line: Json, withDone: boolean): TxOpParticipant[] {
  return field(line, 'participants', isArray).map((p) => {
    if (!Array.isArray(p) || !isString(p[0]) || !isString(p[1]) || !BASE64.test(p[1])) {
      throw new BadLineError('malformed participant');
    }
    if (withDone && typeof p[2] !== 'boolean') throw new BadLineError('malformed participant');
    return {
      resource: p[0],
      work: new Uint8Array(Buffer.from(p[1], 'base64')),
      done: withDone && p[2] === true,
    };
  });
}

/** Parse one line (without its newline); throws BadLineError when it is not a valid op. */
export function decodeOp(text: string): TxOp {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadLineError('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadLineError('not an object');
  }
  const line = parsed as Json;
  const id = field(line, 'id', isString);
  switch (line.o) {
    case 'open':
      return {
        o: 'open',
        id,
        owner: field(line, 'owner', isString),
        at: field(line, 'at', isNumber),
        until: field(line, 'until', isNumber),
        participants: participants(line, false),
      };
    case 'decide':
      return {
        o: 'decide',
        id,
        decision: field(line, 'decision', isDecision),
        reasons: field(line, 'reasons', isStrings),
        at: field(line, 'at', isNumber),
      };
    case 'done':
      return { o: 'done', id, index: field(line, 'index', isIndex) };
    case 'finish':
      return { o: 'finish', id, removeAt: field(line, 'removeAt', isNumber) };
    case 'lease':
      return {
        o: 'lease',
        id,
        owner: field(line, 'owner', isString),
        until: field(line, 'until', isNumber),
      };
    case 'rec':
      return {
        o: 'rec',
        id,
        coordinator: field(line, 'coordinator', isString),
        createdAt: field(line, 'createdAt', isNumber),
        decision: line.decision === undefined ? undefined : field(line, 'decision', isDecision),
        reasons: field(line, 'reasons', isStrings),
        participants: participants(line, true),
        leaseOwner: field(line, 'leaseOwner', isString),
        leaseUntil: field(line, 'leaseUntil', isNumber),
        removeAt: line.removeAt === undefined ? undefined : field(line, 'removeAt', isNumber),
      };
    default:
      throw new BadLineError(`unknown op ${JSON.stringify(line.o)}`);
  }
}
