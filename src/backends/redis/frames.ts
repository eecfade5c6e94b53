/**
 * Binary frames of the Redis transport. One PUBLISH carries one frame, or a batch of frames
 * sent to the same channel within one tick.
 *
 *   message  'M' [u8 fromLen][from] [u16 topicLen][topic] [payload...]
 *   request  'Q' [u8 fromLen][from] [u32 id] [u16 topicLen][topic] [payload...]
 *   reply    'R' [u8 fromLen][from] [u32 id] [payload...]
 *   error    'E' [u8 fromLen][from] [u32 id] [encoded WireError...]
 *   batch    'B' ([u32 length][frame])...
 */

const MESSAGE = 0x4d;
const REQUEST = 0x51;
const REPLY = 0x52;
const ERROR = 0x45;
const BATCH = 0x42;

/** A decoded frame; `payload` is a view into the received buffer (no copy). */
export type Frame =
  | {
      readonly type: 'message';
      readonly from: string;
      readonly topic: string;
      readonly payload: Uint8Array;
    }
  | {
      readonly type: 'request';
      readonly from: string;
      readonly id: number;
      readonly topic: string;
      readonly payload: Uint8Array;
    }
  | {
      readonly type: 'reply' | 'error';
      readonly from: string;
      readonly id: number;
      readonly payload: Uint8Array;
    };

/**
 * Bytes a PUBLISH adds around one payload as a subscriber receives it: frame header (type, node
 * id up to 255 bytes, id, topic length), batch length prefix, and Redis's `message` reply with
 * the channel name. Generous for the short building-block topics (`pb.ev`, `pb.rpc`, ...).
 */
export const MAX_FRAME_OVERHEAD_BYTES = 1024;

/** Largest topic name in bytes (u16 length field). */
export const MAX_TOPIC_BYTES = 0xffff;

/** Builds the frames one node sends; its own id is encoded once. */
export class FrameWriter {
  private readonly from: Buffer;

  constructor(nodeId: string) {
    this.from = Buffer.from(nodeId);
  }

  /** A broadcast or direct message on `topic`. */
  message(topic: string, payload: Uint8Array): Buffer {
    const topicBytes = Buffer.byteLength(topic);
    const out = this.header(MESSAGE, 2 + topicBytes + payload.byteLength);
    let at = 2 + this.from.length;
    at = out.writeUInt16BE(topicBytes, at);
    at += out.write(topic, at);
    out.set(payload, at);
    return out;
  }

  /** A request with correlation `id` to the responder of `topic`. */
  request(id: number, topic: string, payload: Uint8Array): Buffer {
    const topicBytes = Buffer.byteLength(topic);
    const out = this.header(REQUEST, 6 + topicBytes + payload.byteLength);
    let at = 2 + this.from.length;
    at = out.writeUInt32BE(id, at);
    at = out.writeUInt16BE(topicBytes, at);
    at += out.write(topic, at);
    out.set(payload, at);
    return out;
  }

  /** The reply to request `id`: its bytes, or an encoded `WireError` when `isError`. */
  reply(id: number, payload: Uint8Array, isError: boolean): Buffer {
    const out = this.header(isError ? ERROR : REPLY, 4 + payload.byteLength);
    const at = out.writeUInt32BE(id, 2 + this.from.length);
    out.set(payload, at);
    return out;
  }

  private header(type: number, rest: number): Buffer {
    const out = Buffer.allocUnsafe(2 + this.from.length + rest);
    out[0] = type;
    out[1] = this.from.length;
    this.from.copy(out, 2);
    return out;
  }
}

/** Wrap several frames into one batch frame. */
export function encodeBatch(frames: readonly Buffer[], totalBytes: number): Buffer {
  const out = Buffer.allocUnsafe(1 + 4 * frames.length + totalBytes);
  out[0] = BATCH;
  let at = 1;
  for (const frame of frames) {
    at = out.writeUInt32BE(frame.length, at);
    at += frame.copy(out, at);
  }
  return out;
}

/**
 * Call `visit` for each frame in `data` (a single frame or a batch). Malformed input throws a
 * RangeError; the caller drops the message.
 */
export function forEachFrame(data: Buffer, visit: (frame: Frame) => void): void {
  if (data[0] !== BATCH) {
    visit(decodeFrame(data));
    return;
  }
  let at = 1;
  while (at < data.length) {
    const length = data.readUInt32BE(at);
    at += 4;
    if (at + length > data.length) throw new RangeError('Truncated batch frame.');
    visit(decodeFrame(data.subarray(at, at + length)));
    at += length;
  }
}

function decodeFrame(data: Buffer): Frame {
  const type = data[0];
  const fromEnd = 2 + (data[1] ?? 0);
  if (fromEnd > data.length) throw new RangeError('Truncated frame header.');
  const from = data.toString('utf8', 2, fromEnd);
  switch (type) {
    case MESSAGE: {
      const topicEnd = fromEnd + 2 + data.readUInt16BE(fromEnd);
      if (topicEnd > data.length) throw new RangeError('Truncated message frame.');
      return {
        type: 'message',
        from,
        topic: data.toString('utf8', fromEnd + 2, topicEnd),
        payload: view(data, topicEnd),
      };
    }
    case REQUEST: {
      const id = data.readUInt32BE(fromEnd);
      const topicEnd = fromEnd + 6 + data.readUInt16BE(fromEnd + 4);
      if (topicEnd > data.length) throw new RangeError('Truncated request frame.');
      const topic = data.toString('utf8', fromEnd + 6, topicEnd);
      return { type: 'request', from, id, topic, payload: view(data, topicEnd) };
    }
    case REPLY:
    case ERROR:
      return {
        type: type === REPLY ? 'reply' : 'error',
        from,
        id: data.readUInt32BE(fromEnd),
        payload: view(data, fromEnd + 4),
      };
    default:
      throw new RangeError(`Unknown frame type ${String(type)}.`);
  }
}

/**
 * The rest of `data` from `start`, without copying. Kept a Buffer: the codec (msgpackr) decodes
 * binary values as Buffers only when its input is a Buffer.
 */
function view(data: Buffer, start: number): Uint8Array {
  return data.subarray(start);
}
