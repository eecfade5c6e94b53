import type { ServerResponse } from 'node:http';
import type { EventObserver } from '../../bus/event-observers.js';
import { PatternTrie } from '../../bus/pattern-trie.js';
import type { EventMeta } from '../../bus/types.js';
import { showData } from './payload.js';

/** Bounds of the live event stream. */
export interface EventStreamLimits {
  /** Clients connected at once; one more is refused (503). Default 32. */
  maxClients: number;
  /** Bytes written to one client and not yet sent; past it the client is dropped. Default 1 MiB. */
  maxClientBufferBytes: number;
  /** A comment line to every client this often, ms. Default 15000. */
  heartbeatMs: number;
}

export const DEFAULT_STREAM_LIMITS: EventStreamLimits = {
  maxClients: 32,
  maxClientBufferBytes: 1024 * 1024,
  heartbeatMs: 15_000,
};

interface Client {
  readonly res: ServerResponse;
  readonly pattern: string;
}

/**
 * The dashboard's live events over server-sent events. Clients subscribe with a pattern, matched
 * by the bus's own pattern trie; the stream observes the node's events only while a client is
 * connected. A client that reads too slowly (its unsent bytes pass the bound) is dropped and
 * counted, so one slow browser never holds the node's memory.
 */
export class EventStream {
  private readonly trie = new PatternTrie<Client>();
  private readonly clients = new Set<Client>();
  private stopObserving: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private droppedClients = 0;
  private sent = 0;

  constructor(
    private readonly observe: (observer: EventObserver) => (() => void) | undefined,
    private readonly limits: EventStreamLimits,
  ) {}

  get stats(): { clients: number; droppedClients: number; sentEvents: number } {
    return {
      clients: this.clients.size,
      droppedClients: this.droppedClients,
      sentEvents: this.sent,
    };
  }

  /** Whether one more client may connect. */
  get full(): boolean {
    return this.clients.size >= this.limits.maxClients;
  }

  /**
   * Stream events matching `pattern` (already validated) to `res` until it closes. False when
   * the node's events cannot be observed (the host is not running): nothing was written.
   */
  add(res: ServerResponse, pattern: string): boolean {
    if (this.stopObserving === undefined) {
      this.stopObserving = this.observe((meta, data) => this.publish(meta, data));
      if (this.stopObserving === undefined) return false;
    }
    const client: Client = { res, pattern };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`: connected, pattern ${pattern}\n\n`);
    this.clients.add(client);
    this.trie.add(pattern, client);
    this.heartbeat ??= setInterval(() => this.beat(), this.limits.heartbeatMs).unref();
    res.on('close', () => this.remove(client));
    return true;
  }

  /** End every stream and stop observing. */
  close(): void {
    for (const client of [...this.clients]) {
      client.res.end();
      this.remove(client);
    }
  }

  private publish(meta: EventMeta, data: () => unknown): void {
    const matched = this.trie.match(meta.event);
    if (matched.size === 0) return;
    const head = JSON.stringify({
      name: meta.event,
      source: meta.source,
      nodeId: meta.nodeId,
      traceId: meta.traceId,
      time: meta.timestamp,
    });
    const { json, truncated } = showData(data());
    // The head's closing brace gives way to the data, already JSON.
    const record = `${head.slice(0, -1)},"data":${json}${truncated ? ',"truncated":true' : ''}}`;
    const chunk = `event: event\ndata: ${record}\n\n`;
    for (const client of matched) if (this.write(client, chunk)) this.sent++;
  }

  private beat(): void {
    for (const client of [...this.clients]) this.write(client, ': heartbeat\n\n');
  }

  /** Write to one client; false when it was too slow and has been dropped instead. */
  private write(client: Client, chunk: string): boolean {
    if (client.res.writableLength + chunk.length > this.limits.maxClientBufferBytes) {
      // Too slow to keep up: drop it rather than hold ever more of the node's memory.
      this.droppedClients++;
      this.remove(client);
      client.res.destroy();
      return false;
    }
    // Writes of one tick (a burst of events) go out together: one syscall, not one per event.
    if (client.res.writableCorked === 0) {
      client.res.cork();
      setImmediate(() => client.res.uncork());
    }
    client.res.write(chunk);
    return true;
  }

  private remove(client: Client): void {
    if (!this.clients.delete(client)) return;
    this.trie.remove(client.pattern, client);
    if (this.clients.size > 0) return;
    this.stopObserving?.();
    this.stopObserving = undefined;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
