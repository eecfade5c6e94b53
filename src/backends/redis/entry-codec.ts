import type { RegistryChange } from '../ports.js';

/**
 * Byte layouts shared with the Lua scripts (which build and read them with `string.byte`,
 * `string.sub` and `string.char`):
 *
 *   entry   [u8 nodeLen][nodeId][value...]            value of `{ns}:reg:<kind>` hash fields
 *   change  'P' | 'D' [u16 kindLen][kind] [u16 idLen][id] [entry]   field `f` of the entries
 *           of `{ns}:log:<kind>`, and published on `{ns}:rc:<kind>` as a hint
 *           (a delete carries the entry without its value)
 */

/** Largest kind and id in bytes (u16 length fields). */
export const MAX_NAME_BYTES = 0xffff;
/** Largest node id in bytes (u8 length field). */
export const MAX_NODE_ID_BYTES = 0xff;

/** Encode a stored entry. */
export function encodeEntry(nodeId: string, value: Uint8Array): Buffer {
  const node = Buffer.from(nodeId);
  const out = Buffer.allocUnsafe(1 + node.length + value.byteLength);
  out[0] = node.length;
  node.copy(out, 1);
  out.set(value, 1 + node.length);
  return out;
}

/**
 * Decode a stored entry; `value` is a copy, safe to keep.
 * @throws RangeError for a malformed entry (empty, node length 0, or past the end).
 */
export function decodeEntry(entry: Buffer): { nodeId: string; value: Uint8Array } {
  const end = 1 + (entry[0] ?? 0);
  if (end === 1 || end > entry.length) throw new RangeError('Malformed registry entry.');
  return { nodeId: entry.toString('utf8', 1, end), value: Buffer.from(entry.subarray(end)) };
}

/** Encode the change frame announcing a put (deletes are built by the scripts). */
export function encodePutChange(kind: string, id: string, entry: Buffer): Buffer {
  const kindBytes = Buffer.byteLength(kind);
  const idBytes = Buffer.byteLength(id);
  const out = Buffer.allocUnsafe(5 + kindBytes + idBytes + entry.length);
  out[0] = 0x50; // 'P'
  let at = out.writeUInt16BE(kindBytes, 1);
  at += out.write(kind, at);
  at = out.writeUInt16BE(idBytes, at);
  at += out.write(id, at);
  entry.copy(out, at);
  return out;
}

/** Decode a change frame published by a script. */
export function decodeChange(frame: Buffer): RegistryChange {
  const type = frame[0];
  const kindEnd = 3 + frame.readUInt16BE(1);
  const kind = frame.toString('utf8', 3, kindEnd);
  const idEnd = kindEnd + 2 + frame.readUInt16BE(kindEnd);
  if (idEnd > frame.length) throw new RangeError('Truncated registry change.');
  const id = frame.toString('utf8', kindEnd + 2, idEnd);
  const { nodeId, value } = decodeEntry(frame.subarray(idEnd));
  if (type === 0x50) return { type: 'put', record: { kind, id, nodeId, value } };
  if (type === 0x44) return { type: 'delete', kind, id, nodeId };
  throw new RangeError(`Unknown registry change type ${String(type)}.`);
}

/**
 * What a change frame heard on a channel says changed: its type, kind and id. Only checked for
 * shape: watchers take the change itself from the kind's change log (`registry-watches.ts`).
 * @throws RangeError for a malformed frame.
 */
export function decodeChangeHint(frame: Buffer): {
  type: 'put' | 'delete';
  kind: string;
  id: string;
} {
  const type = frame[0] === 0x50 ? 'put' : frame[0] === 0x44 ? 'delete' : undefined;
  if (type === undefined) throw new RangeError(`Unknown registry change type ${String(frame[0])}.`);
  const kindEnd = 3 + frame.readUInt16BE(1);
  const idEnd = kindEnd + 2 + frame.readUInt16BE(kindEnd);
  if (idEnd > frame.length || idEnd === kindEnd + 2)
    throw new RangeError('Truncated registry change.');
  return {
    type,
    kind: frame.toString('utf8', 3, kindEnd),
    id: frame.toString('utf8', kindEnd + 2, idEnd),
  };
}
