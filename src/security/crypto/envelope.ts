import { DecryptionError, UnsupportedAlgorithmError } from '../../errors/errors.js';
import { NONCE_BYTES } from './nonce.js';

/**
 * The envelope format, version 1 (`pb1.`): after the prefix, base64url without padding of
 *
 * | bytes | field                                                |
 * | ----- | ---------------------------------------------------- |
 * | 1     | format version, 1                                    |
 * | 1     | algorithm, 1 = AES-256-GCM                           |
 * | 4     | key version, unsigned big-endian                     |
 * | 1     | length L of the key id in bytes (1-255)              |
 * | L     | key id, UTF-8                                        |
 * | 12    | nonce                                                |
 * | n     | ciphertext (the value, MessagePack as the codec has it) |
 * | 16    | GCM tag                                              |
 *
 * The first 7 + L bytes are the header. The GCM associated data is the header followed by the
 * caller's `aad`; the header is length-prefixed, so the two cannot be confused, and changing
 * any header byte (key id, key version, algorithm) fails the tag.
 */
export const ENVELOPE_PREFIX = 'pb1.';
export const FORMAT_VERSION = 1;
export const AES_256_GCM = 1;
export const TAG_BYTES = 16;
const FIXED_HEADER = 7;

/** An envelope taken apart (views of one buffer); nothing in it is trusted until the tag checks. */
export interface ParsedEnvelope {
  readonly header: Buffer;
  readonly keyId: string;
  readonly version: number;
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/** Bytes of the header for a key id of `idBytes` bytes. */
export function headerBytes(idBytes: number): number {
  return FIXED_HEADER + idBytes;
}

/** Write the header at the start of `target`; returns its length. */
export function writeHeader(
  target: Buffer,
  keyId: string,
  idBytes: number,
  version: number,
): number {
  target[0] = FORMAT_VERSION;
  target[1] = AES_256_GCM;
  target.writeUInt32BE(version, 2);
  target[6] = idBytes;
  target.write(keyId, FIXED_HEADER, 'utf8');
  return FIXED_HEADER + idBytes;
}

/**
 * Take an envelope apart.
 * @throws UnsupportedAlgorithmError for another format version or algorithm; DecryptionError
 *   for anything that is not a well-formed envelope.
 */
export function parseEnvelope(text: string): ParsedEnvelope {
  if (!text.startsWith(ENVELOPE_PREFIX)) {
    if (/^pb\d+\./.test(text)) {
      throw new UnsupportedAlgorithmError(
        `Envelope format "${text.slice(0, text.indexOf('.'))}" is not supported by this version (it reads ${ENVELOPE_PREFIX.slice(0, -1)}); upgrade Plugboard to decrypt it.`,
      );
    }
    throw malformed('it does not start with "pb1."');
  }
  const body = text.slice(ENVELOPE_PREFIX.length);
  const bytes = Buffer.from(body, 'base64url');
  // Buffer.from skips characters outside the alphabet and ignores stray low bits: only the
  // canonical text of these bytes is accepted, so one envelope has exactly one spelling.
  if (bytes.toString('base64url') !== body) throw malformed('it is not base64url');
  if (bytes.length < FIXED_HEADER) throw malformed('it is too short');
  if (bytes[0] !== FORMAT_VERSION) {
    throw new UnsupportedAlgorithmError(
      `Envelope format version ${bytes[0]} is not supported by this version (it reads version ${FORMAT_VERSION}).`,
    );
  }
  if (bytes[1] !== AES_256_GCM) {
    throw new UnsupportedAlgorithmError(
      `Envelope algorithm ${bytes[1]} is not supported: this version encrypts and decrypts AES-256-GCM (algorithm 1) only.`,
    );
  }
  const idBytes = bytes[6]!;
  const headerEnd = FIXED_HEADER + idBytes;
  if (idBytes === 0 || bytes.length < headerEnd + NONCE_BYTES + TAG_BYTES) {
    throw malformed('it is too short');
  }
  const nonceEnd = headerEnd + NONCE_BYTES;
  return {
    header: bytes.subarray(0, headerEnd),
    keyId: bytes.toString('utf8', FIXED_HEADER, headerEnd),
    version: bytes.readUInt32BE(2),
    nonce: bytes.subarray(headerEnd, nonceEnd),
    ciphertext: bytes.subarray(nonceEnd, bytes.length - TAG_BYTES),
    tag: bytes.subarray(bytes.length - TAG_BYTES),
  };
}

function malformed(why: string): DecryptionError {
  return new DecryptionError(
    `Not an encryption envelope: ${why}. Pass the string encrypt returned, unchanged.`,
  );
}
