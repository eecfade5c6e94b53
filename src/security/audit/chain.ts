import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The hash of entry bytes `entry` chained after `previous` (hex; '' before the first entry). */
export function chainHash(previous: string, entry: Uint8Array): string {
  return createHash('sha256').update(previous).update('\n').update(entry).digest('hex');
}

/** What a checkpoint (the chain's end) or a start anchor (where a trimmed chain begins) says. */
export interface Anchor {
  readonly seq: number;
  readonly hash: string;
  /** Hex HMAC-SHA256 over kind, seq and hash; undefined when no key is configured. */
  readonly mac?: string;
}

export type AnchorKind = 'checkpoint' | 'start';

function mac(key: Uint8Array, kind: AnchorKind, seq: number, hash: string): string {
  return createHmac('sha256', key).update(`plugboard-audit-${kind}\n${seq}\n${hash}`).digest('hex');
}

/** The stored form of an anchor (JSON bytes), signed with `key` when there is one. */
export function encodeAnchor(
  kind: AnchorKind,
  seq: number,
  hash: string,
  key: Uint8Array | undefined,
): Uint8Array {
  const anchor: Anchor =
    key === undefined ? { seq, hash } : { seq, hash, mac: mac(key, kind, seq, hash) };
  return Buffer.from(JSON.stringify(anchor));
}

/** Parse a stored anchor; undefined when it is not one. */
export function decodeAnchor(bytes: Uint8Array | undefined): Anchor | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<Anchor>;
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      !Number.isSafeInteger(parsed.seq) ||
      typeof parsed.hash !== 'string' ||
      (parsed.mac !== undefined && typeof parsed.mac !== 'string')
    )
      return undefined;
    return parsed as Anchor;
  } catch {
    return undefined;
  }
}

/** True when `anchor` carries a valid signature under `key`. */
export function anchorSigned(kind: AnchorKind, anchor: Anchor, key: Uint8Array): boolean {
  if (anchor.mac === undefined || !/^[0-9a-f]{64}$/.test(anchor.mac)) return false;
  const expected = Buffer.from(mac(key, kind, anchor.seq, anchor.hash), 'hex');
  return timingSafeEqual(expected, Buffer.from(anchor.mac, 'hex'));
}
