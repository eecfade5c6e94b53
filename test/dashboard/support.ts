import { request, type IncomingMessage } from 'node:http';
import type { StreamedEventView } from '../../src/dashboard/api-types.js';

/** One event of the live stream, as the dashboard sends it. */
export type StreamedEvent = StreamedEventView;

/** A raw GET (paths are sent exactly as given: no URL normalisation). */
export function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A live-stream reader: connects, parses `event: event` records, and is closed by `close()`. */
export class StreamReader {
  readonly events: StreamedEvent[] = [];
  comments = 0;
  status = 0;
  private buffer = '';
  private res: IncomingMessage | undefined;
  private waiters: Array<() => void> = [];
  private readonly req;

  constructor(port: number, path: string, headers: Record<string, string> = {}) {
    this.req = request({ host: '127.0.0.1', port, path, headers });
    this.req.on('error', () => undefined);
    this.req.end();
  }

  /** Resolves with the status once the response headers arrived. */
  opened(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.req.once('response', (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.take(chunk));
        res.on('error', () => undefined);
        resolve(this.status);
      });
      this.req.once('error', reject);
    });
  }

  /** Stop reading (the socket's buffers fill: a slow client). */
  pause(): void {
    this.res?.pause();
  }

  /** Wait until `check` holds over the events read so far; rejects after `timeoutMs`. */
  async until(check: (events: StreamedEvent[]) => boolean, timeoutMs = 5000): Promise<void> {
    const giveUp = Date.now() + timeoutMs;
    while (!check(this.events)) {
      const left = giveUp - Date.now();
      if (left <= 0) throw new Error(`stream: condition not met within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.req.destroy();
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const record = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      if (record.startsWith(':')) this.comments++;
      const data = record.split('\n').find((line) => line.startsWith('data: '));
      if (record.startsWith('event: event') && data !== undefined)
        this.events.push(JSON.parse(data.slice('data: '.length)) as StreamedEvent);
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}
