import { Command, type Redis } from 'ioredis';
import { corkForTick } from './tick-cork.js';

/**
 * A command whose whole RESP frame was built by the caller, in one buffer: ioredis writes
 * what `toWritable` returns (its public serialization step) and matches the reply by order,
 * as for any command. Its own serialization of a command with a Buffer argument copies every
 * part into a fresh buffer; a cache write builds the frame once, with the entry's version
 * and value copied straight into it.
 */
class FramedCommand extends Command {
  constructor(
    name: string,
    private readonly frame: Buffer,
  ) {
    super(name, [], { replyEncoding: null });
  }

  override toWritable(): Buffer {
    return this.frame;
  }
}

/** Write a prebuilt frame (see {@link setFrame}) as `rawCommand` writes commands. */
export function rawFrame(client: Redis, name: string, frame: Buffer): Promise<unknown> {
  corkForTick(client);
  // eslint-disable-next-line plugboard/redis-commands-through-runner -- as rawCommand
  return client.sendCommand(new FramedCommand(name, frame)) as Promise<unknown>;
}

/**
 * The frame of `SET <key> <head><value> [PX <ttlMs>]`, where `head` is ASCII (latin1) text
 * stored before the value bytes. `key` is written as UTF-8.
 */
export function setFrame(
  key: string,
  head: string,
  value: Uint8Array,
  ttlMs: number | undefined,
): Buffer {
  const keyBytes = Buffer.byteLength(key);
  const entryBytes = head.length + value.byteLength;
  const ttl = ttlMs === undefined ? '' : String(ttlMs);
  const start = `*${ttl === '' ? 3 : 5}\r\n$3\r\nSET\r\n$${keyBytes}\r\n`;
  const middle = `\r\n$${entryBytes}\r\n`;
  const end = ttl === '' ? '\r\n' : `\r\n$2\r\nPX\r\n$${ttl.length}\r\n${ttl}\r\n`;
  const frame = Buffer.allocUnsafe(
    start.length + keyBytes + middle.length + entryBytes + end.length,
  );
  let at = frame.write(start, 0, 'latin1');
  at += frame.write(key, at, 'utf8');
  at += frame.write(middle, at, 'latin1');
  at += frame.write(head, at, 'latin1');
  frame.set(value, at);
  at += value.byteLength;
  frame.write(end, at, 'latin1');
  return frame;
}
