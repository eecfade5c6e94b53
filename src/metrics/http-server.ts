import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HostStateError, ValidationError } from '../errors/errors.js';
import { observabilityHandler, type ObservedHost } from './http-handler.js';
import type { HttpAddress, HttpOptions } from './types.js';

/** @throws ValidationError naming `http.port` or `http.host`. */
export function assertHttpOptions(options: HttpOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('Host option "http" must be an object { port, host? }.', {
      details: { field: 'http' },
    });
  }
  const { port, host } = options;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ValidationError(
      `Host option "http.port" must be an integer from 0 to 65535, got ${String(port)}.`,
      { details: { field: 'http.port' } },
    );
  }
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) {
    throw new ValidationError('Host option "http.host" must be a non-empty string.', {
      details: { field: 'http.host' },
    });
  }
}

/** A running HTTP server for one host. */
export interface HostHttpServer {
  readonly address: HttpAddress;
  close(): Promise<void>;
}

/** Listen on `options` and serve `/metrics` and `/health` for `host` (404 elsewhere). */
export function startHttpServer(host: ObservedHost, options: HttpOptions): Promise<HostHttpServer> {
  const handle = observabilityHandler(host);
  const server: Server = createServer((request, response) => {
    if (handle(request, response)) return;
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('Not found: try /metrics or /health\n');
  });
  const hostname = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const failed = (error: Error): void =>
      reject(
        new HostStateError(
          `Cannot serve /metrics and /health on ${hostname}:${options.port} (http option): ${error.message}`,
          { details: { field: 'http', host: hostname, port: options.port }, cause: error },
        ),
      );
    server.once('error', failed);
    server.listen(options.port, hostname, () => {
      server.off('error', failed);
      const { port } = server.address() as AddressInfo;
      const shown = hostname.includes(':') ? `[${hostname}]` : hostname;
      resolve({
        address: Object.freeze({ host: hostname, port, url: `http://${shown}:${port}` }),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
