import {
  createHash,
  createHmac,
  createSecretKey,
  randomBytes,
  timingSafeEqual,
  type Hmac,
  type KeyObject,
} from 'node:crypto';
import { ValidationError } from '../../errors/errors.js';

/**
 * Authentication of the cluster's own traffic with a shared secret (`clusterSecret`).
 *
 * Every PUBLISH of the transport (one frame or a batch) is sealed:
 *
 *   'S' [u8 version=1] [4 key id] [8 sender session] [u48 seq] [u48 time ms] [32 MAC] [frame...]
 *
 * MAC = HMAC-SHA256(key, 'T' [u16 channelLen][channel] [the 26 header bytes] [frame...]): a
 * frame moved to another channel, edited, or sealed with another key fails it. A receiver keeps,
 * per sender session, the highest sequence number seen and a window of the 32 before it: a
 * frame seen already, or older than the window, is a replay. A frame whose time is more than
 * {@link REPLAY_WINDOW_MS} away from the receiver's clock is refused too, so the per-sender state
 * only has to outlive that window.
 *
 * Registry entry values are sealed as [4 key id][32 MAC][value...], MAC = HMAC-SHA256(key, 'R'
 * [u16 kindLen][kind] [u16 idLen][id] [u8 nodeLen][node] [value...]).
 *
 * Rotation: the first secret seals, every secret of the list opens (found by its key id: the
 * first 4 bytes of SHA-256 over a label and the key, which says nothing of the key itself).
 */

/** Shortest secret, in bytes. */
export const MIN_SECRET_BYTES = 32;
/** Frames whose time differs from the receiver's clock by more than this are refused. */
export const REPLAY_WINDOW_MS = 30_000;
/** Bytes a seal adds in front of a transport frame. */
export const SEAL_BYTES = 58;
/** Bytes a seal adds in front of a registry entry value. */
export const ENTRY_SEAL_BYTES = 36;

const SEALED = 0x53; // 'S'
const VERSION = 1;
const HEADER_BYTES = 26;
/** Sequence numbers behind the highest one that are still accepted (once each). */
const SEQ_WINDOW = 32;
/** Sender sessions remembered at most; past it the oldest is forgotten (see `evictedUpTo`). */
const MAX_SENDERS = 10_000;
const MAX_SEQ = 2 ** 48 - 1;

/** One key: its id, and the key as a KeyObject (imported once, not per MAC). */
class MacKey {
  readonly id: Buffer;
  private readonly key: KeyObject;

  constructor(secret: Buffer) {
    this.id = createHash('sha256')
      .update('plugboard cluster key id\0')
      .update(secret)
      .digest()
      .subarray(0, 4);
    this.key = createSecretKey(secret);
  }

  /** A running HMAC-SHA256: `update` the data, then `digest`. */
  begin(): Hmac {
    return createHmac('sha256', this.key);
  }
}

/** Per sender session: highest sequence number, and which of the {@link SEQ_WINDOW} before it were seen. */
interface SenderState {
  high: number;
  seen: number;
  lastTime: number;
}

/** Why a frame was refused (counted per reason). */
export type RejectReason = 'unsealed' | 'unknown-key' | 'bad-mac' | 'stale' | 'replayed';

/**
 * The keys of a cluster. Never serialised: JSON and `util.inspect` show `[redacted]`.
 */
export class ClusterMac {
  private readonly keys: MacKey[];
  private readonly byId = new Map<string, MacKey>();
  private readonly session = randomBytes(8);
  private seq = 0;
  private readonly senders = new Map<string, SenderState>();
  /** Latest time of a sender session forgotten at the bound: unknown senders must be newer. */
  private evictedUpTo = 0;

  constructor(secrets: readonly Buffer[]) {
    this.keys = secrets.map((secret) => new MacKey(secret));
    for (const key of this.keys) this.byId.set(key.id.toString('latin1'), key);
  }

  /** Seal `frame` (one frame or a batch) for `channel`: a new buffer, header and MAC in front. */
  seal(channel: string, frame: Buffer): Buffer {
    const key = this.keys[0]!;
    if (this.seq >= MAX_SEQ) {
      this.session.set(randomBytes(8));
      this.seq = 0;
    }
    const out = Buffer.allocUnsafe(SEAL_BYTES + frame.length);
    out[0] = SEALED;
    out[1] = VERSION;
    key.id.copy(out, 2);
    this.session.copy(out, 6);
    out.writeUIntBE(++this.seq, 14, 6);
    out.writeUIntBE(Date.now(), 20, 6);
    frame.copy(out, SEAL_BYTES);
    const mac = key.begin();
    updateChannel(mac, channel);
    mac.update(out.subarray(0, HEADER_BYTES));
    mac.update(frame);
    mac.digest().copy(out, HEADER_BYTES);
    return out;
  }

  /**
   * The frame inside a sealed `message` received on `channel`, or why it is refused. Each
   * accepted message is accepted once: the same bytes again are a replay.
   */
  open(channel: string, message: Buffer): Buffer | RejectReason {
    if (message.length < SEAL_BYTES || message[0] !== SEALED || message[1] !== VERSION)
      return 'unsealed';
    const key = this.byId.get(message.toString('latin1', 2, 6));
    if (key === undefined) return 'unknown-key';
    const frame = message.subarray(SEAL_BYTES);
    const mac = key.begin();
    updateChannel(mac, channel);
    mac.update(message.subarray(0, HEADER_BYTES));
    mac.update(frame);
    if (!timingSafeEqual(mac.digest(), message.subarray(HEADER_BYTES, SEAL_BYTES)))
      return 'bad-mac';
    const now = Date.now();
    const time = message.readUIntBE(20, 6);
    if (Math.abs(now - time) > REPLAY_WINDOW_MS) return 'stale';
    return this.fresh(message.toString('latin1', 6, 14), message.readUIntBE(14, 6), time, now)
      ? frame
      : 'replayed';
  }

  /** Seal a registry entry's value for `kind`/`id` owned by `nodeId`. */
  sealEntry(kind: string, id: string, nodeId: string, value: Uint8Array): Buffer {
    const key = this.keys[0]!;
    const out = Buffer.allocUnsafe(ENTRY_SEAL_BYTES + value.byteLength);
    key.id.copy(out, 0);
    entryMac(key, kind, id, nodeId, value).copy(out, 4);
    out.set(value, ENTRY_SEAL_BYTES);
    return out;
  }

  /** The value inside a sealed registry entry value, or undefined when it does not check. */
  openEntry(kind: string, id: string, nodeId: string, sealed: Uint8Array): Uint8Array | undefined {
    if (sealed.byteLength < ENTRY_SEAL_BYTES) return undefined;
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const key = this.byId.get(bytes.toString('latin1', 0, 4));
    if (key === undefined) return undefined;
    const value = bytes.subarray(ENTRY_SEAL_BYTES);
    const mac = entryMac(key, kind, id, nodeId, value);
    return timingSafeEqual(mac, bytes.subarray(4, ENTRY_SEAL_BYTES)) ? value : undefined;
  }

  /** Sender sessions remembered now (bounded; for tests). */
  get rememberedSenders(): number {
    return this.senders.size;
  }

  /** True the first time (`session`, `seq`) is seen within the window; false for a replay. */
  private fresh(session: string, seq: number, time: number, now: number): boolean {
    const state = this.senders.get(session);
    if (state === undefined) {
      if (time <= this.evictedUpTo) return false;
      if (this.senders.size >= MAX_SENDERS) this.forgetSenders(now);
      this.senders.set(session, { high: seq, seen: 0, lastTime: time });
      return true;
    }
    if (time > state.lastTime) state.lastTime = time;
    if (seq > state.high) {
      const shift = seq - state.high;
      // Bit b stands for `high - b - 1`; the old highest becomes bit `shift - 1`.
      state.seen =
        shift > SEQ_WINDOW
          ? 0
          : shift === SEQ_WINDOW
            ? 0x80000000
            : ((state.seen << shift) | (1 << (shift - 1))) >>> 0;
      state.high = seq;
      return true;
    }
    const behind = state.high - seq;
    if (behind === 0 || behind > SEQ_WINDOW) return false;
    const bit = 1 << (behind - 1);
    if ((state.seen & bit) !== 0) return false;
    state.seen = (state.seen | bit) >>> 0;
    return true;
  }

  /** Forget senders silent for longer than the window; if none is, the oldest one. */
  private forgetSenders(now: number): void {
    for (const [session, state] of this.senders)
      if (now - state.lastTime > REPLAY_WINDOW_MS) this.senders.delete(session);
    if (this.senders.size < MAX_SENDERS) return;
    const [oldest] = this.senders;
    if (oldest === undefined) return;
    this.senders.delete(oldest[0]);
    this.evictedUpTo = Math.max(this.evictedUpTo, oldest[1].lastTime);
  }

  toJSON(): string {
    return '[redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'ClusterMac [redacted]';
  }
}

/**
 * Check and convert a `clusterSecret` option: a string or Buffer of at least
 * {@link MIN_SECRET_BYTES} bytes, or a non-empty list of them (the first seals, all open).
 * The secret itself is never part of the error.
 * @throws ValidationError naming the field.
 */
export function resolveClusterSecret(option: unknown): ClusterMac | undefined {
  if (option === undefined) return undefined;
  const list: unknown[] = Array.isArray(option) ? option : [option];
  if (list.length === 0)
    throw new ValidationError('clusterSecret must not be an empty list.', {
      details: { field: 'clusterSecret' },
    });
  const secrets = list.map((secret, index) => {
    const bytes =
      typeof secret === 'string'
        ? Buffer.from(secret)
        : Buffer.isBuffer(secret)
          ? Buffer.from(secret)
          : undefined;
    const field = Array.isArray(option) ? `clusterSecret[${index}]` : 'clusterSecret';
    if (bytes === undefined || bytes.length < MIN_SECRET_BYTES)
      throw new ValidationError(
        `${field} must be a string or Buffer of at least ${MIN_SECRET_BYTES} bytes (got ${bytes === undefined ? typeof secret : `${bytes.length} bytes`}); generate one with \`openssl rand -base64 48\`.`,
        { details: { field } },
      );
    return bytes;
  });
  return new ClusterMac(secrets);
}

/** `'T' [u16 length][channel]`: binds a frame's MAC to the channel it travels on. */
function updateChannel(mac: Hmac, channel: string): void {
  const length = Buffer.byteLength(channel);
  const head = Buffer.allocUnsafe(3);
  head[0] = 0x54; // 'T'
  head.writeUInt16BE(length, 1);
  mac.update(head);
  mac.update(channel);
}

function entryMac(
  key: MacKey,
  kind: string,
  id: string,
  nodeId: string,
  value: Uint8Array,
): Buffer {
  const kindBytes = Buffer.byteLength(kind);
  const idBytes = Buffer.byteLength(id);
  const nodeBytes = Buffer.byteLength(nodeId);
  const head = Buffer.allocUnsafe(6 + kindBytes + idBytes + nodeBytes);
  head[0] = 0x52; // 'R'
  let at = head.writeUInt16BE(kindBytes, 1);
  at += head.write(kind, at);
  at = head.writeUInt16BE(idBytes, at);
  at += head.write(id, at);
  head[at++] = nodeBytes;
  head.write(nodeId, at);
  const mac = key.begin();
  mac.update(head);
  mac.update(value);
  return mac.digest();
}
