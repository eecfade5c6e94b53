import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeInspection } from '../../context/inspection.js';
import { isPlugboardError, ValidationError } from '../../errors/errors.js';
import { PluginHost } from '../../host/plugin-host.js';
import { observabilityHandler } from '../../metrics/http-handler.js';
import type { Host } from '../../host/types.js';
import { assertPattern } from '../../util/names.js';
import { crossSite, generateToken, hasToken, isLoopback } from './auth.js';
import { DEFAULT_STREAM_LIMITS, EventStream, type EventStreamLimits } from './event-stream.js';
import { buildOverview } from './overview.js';
import { defaultUiDirectory, serveStatic } from './static-files.js';

/** Largest request body read (the API takes none; a larger one is refused with 413). */
const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_DEAD_LIMIT = 50;
const MAX_DEAD_LIMIT = 1000;

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default `127.0.0.1` (this machine only). */
  host?: string;
  /**
   * Token every API request must carry (`Authorization: Bearer <token>` or `?token=`). Required
   * beyond loopback: generated when not given there. On loopback without one, the API is open to
   * this machine (cross-site requests from a browser are still refused).
   */
  token?: string;
  /** Folder of the built UI (`index.html`, `assets/`). Default: the package's `dist/dashboard/`. */
  uiDirectory?: string;
  /** Bounds of the live event stream (clients, per-client buffer, heartbeat). */
  stream?: Partial<EventStreamLimits>;
}

/** A running dashboard server. */
export interface Dashboard {
  /** The page's address, with `?token=` when a token is required. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The token required, if any (generated when listening beyond loopback without one). */
  readonly token: string | undefined;
  /** Live-stream counters: connected clients, slow clients dropped, events sent. */
  stats(): { clients: number; droppedClients: number; sentEvents: number };
  /** Stop listening and end every live stream. */
  close(): Promise<void>;
}

/**
 * Serve the web dashboard of a host made by `createHost`: the UI, a JSON API (overview, dead
 * letters with replay and remove) and a live stream of events (server-sent events). It only
 * reads the host, except for replaying and removing dead letters; stopping it leaves the host
 * running. Rejects when the port cannot be listened on.
 */
export async function startDashboard(host: Host, options: DashboardOptions): Promise<Dashboard> {
  if (!(host instanceof PluginHost))
    throw new ValidationError('startDashboard(host) needs a host made by createHost().');
  const port = options.port;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ValidationError(`Dashboard port must be an integer from 0 to 65535, got ${port}.`);
  const bind = options.host ?? '127.0.0.1';
  if (options.token !== undefined && options.token.length < 8)
    throw new ValidationError('A dashboard token must have at least 8 characters.');
  const token = options.token ?? (isLoopback(bind) ? undefined : generateToken());
  const uiDirectory = options.uiDirectory ?? defaultUiDirectory();
  const inspect = (): RuntimeInspection | undefined => host.inspect();
  const stream = new EventStream((observer) => inspect()?.observeEvents(observer), {
    ...DEFAULT_STREAM_LIMITS,
    ...options.stream,
  });

  // GET /metrics and GET /health, as on the host's own HTTP port (behind the token here).
  const observability = observabilityHandler(host);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => fail(res, error));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    const observed = path === '/metrics' || path === '/health';
    if (!path.startsWith('/api/') && !observed) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return send(res, 405, { error: 'Method not allowed.' });
      serveStatic(uiDirectory, path, res);
      return;
    }
    if (token !== undefined ? !hasToken(req, url, token) : crossSite(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, {
        error:
          token !== undefined
            ? 'This dashboard needs its token: Authorization: Bearer <token> or ?token=<token>.'
            : 'Cross-site request refused.',
      });
    }
    if (observed) {
      observability(req, res);
      return;
    }
    if (!(await bodyWithin(req, MAX_BODY_BYTES)))
      return send(res, 413, { error: 'Request body too large.' });
    if (path === '/api/overview' && req.method === 'GET')
      return send(res, 200, await buildOverview(host, inspect()));
    if (path === '/api/events' && req.method === 'GET') {
      const pattern = url.searchParams.get('pattern') ?? '**';
      assertPattern(pattern, 'Event pattern');
      if (stream.full)
        return send(res, 503, { error: 'Too many live streams are open; close one and retry.' });
      if (!stream.add(res, pattern)) return send(res, 503, { error: 'The host is not running.' });
      return;
    }
    const dead = /^\/api\/queues\/([^/]+)\/dead(?:\/([^/]+)(\/replay)?)?$/.exec(path);
    if (dead !== null) {
      const runtime = inspect();
      if (runtime === undefined) return send(res, 503, { error: 'The host is not running.' });
      const queue = decodeURIComponent(dead[1]!);
      const id = dead[2] === undefined ? undefined : decodeURIComponent(dead[2]);
      const queues = runtime.workQueues;
      if (id === undefined && req.method === 'GET') {
        const limit = deadLimit(url.searchParams.get('limit'));
        return send(res, 200, await queues.deadLetters(queue, limit));
      }
      if (id !== undefined && dead[3] !== undefined && req.method === 'POST') {
        if (!(await queues.retryDeadLetter(queue, id))) return noDeadLetter(res, queue, id);
        return send(res, 200, { replayed: 1 });
      }
      if (id !== undefined && dead[3] === undefined && req.method === 'DELETE') {
        if (!(await queues.removeDeadLetter(queue, id))) return noDeadLetter(res, queue, id);
        return send(res, 200, { removed: 1 });
      }
      return send(res, 405, { error: 'Method not allowed.' });
    }
    return send(res, 404, { error: `No API route ${req.method ?? ''} ${path}.` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shown}:${address.port}/${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;
  let closing: Promise<void> | undefined;
  return Object.freeze({
    url,
    port: address.port,
    host: bind,
    token,
    stats: () => stream.stats,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        stream.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  });
}

function deadLimit(value: string | null): number {
  if (value === null) return DEFAULT_DEAD_LIMIT;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LIMIT)
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_DEAD_LIMIT}.`);
  return limit;
}

/** Read and drop the request body; false when it passes `limit` bytes (the rest is not read). */
function bodyWithin(req: IncomingMessage, limit: number): Promise<boolean> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve(false);
  if (req.method === 'GET' || req.method === 'HEAD') return Promise.resolve(true);
  return new Promise((resolve) => {
    let read = 0;
    req.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve(false);
      }
    });
    req.on('end', () => resolve(true));
    req.on('error', () => resolve(false));
  });
}

function noDeadLetter(res: ServerResponse, queue: string, id: string): void {
  send(res, 404, { error: `No dead letter "${id}" in queue "${queue}".` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** A failed request: 400 for what the caller got wrong, 500 (logged by nobody, said here) else. */
function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const validation =
    (isPlugboardError(error) && error.code === 'PB_VALIDATION') || error instanceof URIError;
  const message = error instanceof Error ? error.message : String(error);
  send(res, validation ? 400 : 500, {
    error: message,
    ...(isPlugboardError(error) ? { code: error.code } : {}),
  });
}
