import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { HostHealth } from '../host/types.js';

/** What the handler needs from a host (`Host` has it). */
export interface ObservedHost {
  health(): HostHealth;
  metrics(options: { format: 'prometheus' }): Promise<string>;
}

/** True when `GET /health` answers 200: the host runs, every plugin is active, every connection is up. */
export function isHealthy(health: HostHealth): boolean {
  return health.ok && health.connections.every((connection) => connection.up);
}

/**
 * `GET /metrics` (Prometheus text) and `GET /health` (JSON, 200 when {@link isHealthy}, else
 * 503) for `host`. Returns false for any other path, so a server serving more (the dashboard)
 * mounts it in front of its own routes.
 */
export function observabilityHandler(
  host: ObservedHost,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  return (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' && path !== '/health') return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      response.end('Method not allowed\n');
      return true;
    }
    if (path === '/health') {
      const health = host.health();
      send(response, isHealthy(health) ? 200 : 503, 'application/json', JSON.stringify(health));
      return true;
    }
    host.metrics({ format: 'prometheus' }).then(
      (text) => send(response, 200, Registry.PROMETHEUS_CONTENT_TYPE, text),
      (error: unknown) =>
        send(
          response,
          503,
          'text/plain; charset=utf-8',
          `${error instanceof Error ? error.message : String(error)}\n`,
        ),
    );
    return true;
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
