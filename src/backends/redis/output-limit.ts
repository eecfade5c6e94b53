import { ValidationError } from '../../errors/errors.js';
import type { CommandRunner } from './connection.js';
import { MAX_FRAME_OVERHEAD_BYTES } from './frames.js';

/** Redis's default hard `client-output-buffer-limit` for pub/sub clients (32 MB). */
export const DEFAULT_PUBSUB_HARD_LIMIT = 32 * 1024 * 1024;

/**
 * The hard pub/sub output buffer limit of the server, in bytes (0: none). A server that refuses
 * `CONFIG GET` (managed Redis, renamed command, ACL) is assumed to use Redis's default.
 */
export async function readPubsubHardLimit(runner: CommandRunner): Promise<number> {
  const reply = await runner.run('read client-output-buffer-limit', (client) =>
    client.config('GET', 'client-output-buffer-limit').catch((error: unknown) => {
      // Refused by the server (not a connection problem): fall back to the default.
      if (error instanceof Error && error.name === 'ReplyError') return null;
      throw error;
    }),
  );
  if (!Array.isArray(reply) || typeof reply[1] !== 'string') return DEFAULT_PUBSUB_HARD_LIMIT;
  return parsePubsubHardLimit(reply[1]) ?? DEFAULT_PUBSUB_HARD_LIMIT;
}

/**
 * The pub/sub hard limit in `client-output-buffer-limit`'s value, e.g.
 * `normal 0 0 0 replica 268435456 67108864 60 pubsub 33554432 8388608 60` → 33554432.
 */
export function parsePubsubHardLimit(value: string): number | undefined {
  const words = value.trim().split(/\s+/);
  const at = words.indexOf('pubsub');
  if (at < 0 || at + 1 >= words.length) return undefined;
  const hard = parseSize(words[at + 1]!);
  return hard;
}

/** `33554432`, `32mb`, `256kb`, `1gb` → bytes (CONFIG GET answers bytes; CONFIG SET takes units). */
function parseSize(word: string): number | undefined {
  const match = /^(\d+)(b|kb|k|mb|m|gb|g)?$/i.exec(word);
  if (match === null) return undefined;
  const units: Record<string, number> = {
    b: 1,
    k: 1000,
    kb: 1024,
    m: 1000 ** 2,
    mb: 1024 ** 2,
    g: 1000 ** 3,
    gb: 1024 ** 3,
  };
  return Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1);
}

/**
 * Refuse settings the transport cannot carry: a message larger than the pub/sub hard limit
 * makes Redis disconnect every subscriber it is sent to (the sender only sees timeouts), and a
 * byte budget below one message would refuse it whenever anything else is in flight.
 * @throws ValidationError naming the setting to change.
 */
export function assertPayloadFits(
  maxPayloadBytes: number,
  maxPendingBytes: number,
  pubsubHardLimit: number,
): void {
  const largest = maxPayloadBytes + MAX_FRAME_OVERHEAD_BYTES;
  if (pubsubHardLimit > 0 && largest >= pubsubHardLimit) {
    throw new ValidationError(
      `maxPayloadBytes ${maxPayloadBytes} (plus ${MAX_FRAME_OVERHEAD_BYTES} bytes of framing) does not fit Redis's hard pub/sub output buffer limit of ${pubsubHardLimit} bytes (client-output-buffer-limit pubsub): receivers of such a message would be disconnected. Lower maxPayloadBytes or raise the limit.`,
      {
        details: {
          field: 'maxPayloadBytes',
          maxPayloadBytes,
          framing: MAX_FRAME_OVERHEAD_BYTES,
          pubsubHardLimit,
        },
      },
    );
  }
  if (largest > maxPendingBytes) {
    throw new ValidationError(
      `maxPendingBytes ${maxPendingBytes} is smaller than one message of maxPayloadBytes ${maxPayloadBytes} plus ${MAX_FRAME_OVERHEAD_BYTES} bytes of framing.`,
      { details: { field: 'maxPendingBytes', maxPendingBytes, maxPayloadBytes } },
    );
  }
}
