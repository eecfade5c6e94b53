import type { WireError } from '../errors/wire.js';

/** An RPC request as it crosses the wire. */
export interface RequestFrame {
  /** service */
  s: string;
  /** method */
  m: string;
  /** params */
  p: unknown[] | undefined;
  /** calling plugin */
  c: string;
  /** deadline, epoch ms */
  t: number;
}

/** A reply: the method's value, or the error it threw (the method ran). */
export type ReplyFrame = { v: unknown } | { e: WireError };
