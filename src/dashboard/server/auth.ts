import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Host names that only this machine can reach. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

/** Whether listening on `host` keeps the dashboard on this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase());
}

/** A fresh token: 24 random bytes, URL-safe. */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Whether the request carries `token` (`Authorization: Bearer <token>` or `?token=<token>`),
 * compared in constant time (both sides hashed first, so their lengths leak nothing either).
 */
export function hasToken(req: IncomingMessage, url: URL, token: string): boolean {
  // The scheme is case-insensitive (RFC 9110): `bearer <token>` counts as `Bearer <token>`.
  const bearer = /^bearer +(.*)$/i.exec(req.headers.authorization ?? '');
  const given = bearer !== null ? bearer[1]!.trim() : url.searchParams.get('token');
  if (given === null || given.length === 0) return false;
  return timingSafeEqual(digest(given), digest(token));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Whether a request is one this machine's browser could be tricked into sending from another
 * site: a `Host` header naming something else than this server (DNS rebinding) or an `Origin`
 * of another site (cross-site form posts). Checked when no token protects the server.
 */
export function crossSite(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined || !isLoopback(hostName(host))) return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== host;
  } catch {
    return true;
  }
}

/** `host[:port]` → host (IPv6 in brackets kept). */
function hostName(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon < 0 ? hostHeader : hostHeader.slice(0, colon);
}
