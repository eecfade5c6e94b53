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
  /**
   * Time left for the call when it was sent, ms. Remaining time rather than an epoch deadline,
   * because nodes' clocks differ; the provider bounds the call by it from receipt (so transit
   * time is not counted against the provider, but the caller's own deadline still holds).
   */
  t: number;
  /**
   * The caller's trace: a W3C `traceparent` when the caller runs in a span, else the bare trace
   * id; absent when the call is on no trace. The provider runs the method on it.
   */
  r?: string;
}

/** A reply: the method's value, or the error it threw (the method ran). */
export type ReplyFrame = { v: unknown } | { e: WireError };
