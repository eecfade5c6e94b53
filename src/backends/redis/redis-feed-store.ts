import type { ChangeFeedStore, FeedEntry, FeedRetention, PortSubscription } from '../ports.js';
import { closedError } from './closed.js';
import { evalScript, rawCommand } from './scripts.js';
import type { RedisStoreDeps } from './store-deps.js';

type Listener = (entry?: FeedEntry) => void;

/**
 * Change feeds on Redis: one STREAM per collection (ids `0-<seq>`, see append-change-2.lua),
 * its keys under the collection's own hash tag `{<ns>:f:<collection>}` so feeds spread over a
 * Cluster's slots. Each append is one script (XADD, trims, PUBLISH of the entry on the
 * collection's channel), so watchers rarely need a read; after the subscriber reconnects every
 * listener is called without an entry ({@link wakeWatchers}) and reads from its cursor.
 */
export class RedisFeedStore implements ChangeFeedStore {
  private readonly listeners = new Set<Listener>();
  private closed = false;

  constructor(readonly deps: RedisStoreDeps) {}

  async append(collection: string, data: Uint8Array, retention: FeedRetention): Promise<FeedEntry> {
    this.assertOpen();
    const keys = this.deps.keys.feed(collection);
    const script = this.deps.scripts.appendChange;
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const reply = (await this.deps.runner.run(
      `publish a change to ${collection}`,
      (client, caller) =>
        evalScript(
          client,
          script,
          [keys.log, keys.meta],
          [bytes, retention.maxChanges, retention.maxAgeMs, keys.notify],
          caller,
        ),
    )) as [number, number];
    return { seq: Number(reply[0]), timestamp: Number(reply[1]), data };
  }

  async read(collection: string, afterSeq: number, limit: number): Promise<FeedEntry[]> {
    this.assertOpen();
    if (limit <= 0) return [];
    const log = this.deps.keys.feed(collection).log;
    const reply = (await this.deps.runner.run(`read the changes of ${collection}`, (client) =>
      rawCommand(client, 'xrange', [log, `(0-${afterSeq}`, '+', 'COUNT', limit]),
    )) as [Buffer, Buffer[]][];
    const entries: FeedEntry[] = [];
    for (const [id, fields] of reply) {
      const entry = parseStreamEntry(id, fields);
      if (entry === undefined) this.deps.faults.record('malformedFeedChange', { collection });
      else entries.push(entry);
    }
    return entries;
  }

  async seqBefore(collection: string, timestampMs: number): Promise<number> {
    this.assertOpen();
    const log = this.deps.keys.feed(collection).log;
    const script = this.deps.scripts.feedSeqBefore;
    const reply = await this.deps.runner.run(`find a time in ${collection}`, (client, caller) =>
      evalScript(client, script, [log], [Math.floor(timestampMs)], caller),
    );
    return Number(reply);
  }

  async lastSeq(collection: string): Promise<number> {
    this.assertOpen();
    const meta = this.deps.keys.feed(collection).meta;
    const reply = await this.deps.runner.run(`read the last seq of ${collection}`, (client) =>
      client.hget(meta, 's'),
    );
    return reply === null ? 0 : Number(reply);
  }

  async watch(collection: string, listener: Listener): Promise<PortSubscription> {
    this.assertOpen();
    const wrapped: Listener = (entry) => listener(entry);
    this.listeners.add(wrapped);
    let remove: () => Promise<void>;
    try {
      remove = await this.deps.hub.add(this.deps.keys.feed(collection).notify, (message) => {
        const entry = parseNotification(message);
        if (entry === undefined) this.deps.faults.record('malformedFeedChange', { collection });
        // A malformed notification still says something changed: read.
        wrapped(entry);
      });
    } catch (error) {
      this.listeners.delete(wrapped);
      throw error;
    }
    return {
      close: async () => {
        this.listeners.delete(wrapped);
        await remove();
      },
    };
  }

  async saveCursor(collection: string, name: string, seq: number): Promise<void> {
    this.assertOpen();
    const cursors = this.deps.keys.feed(collection).cursors;
    await this.deps.runner.run(`save the cursor ${name} of ${collection}`, (client) =>
      client.hset(cursors, name, seq),
    );
  }

  async loadCursor(collection: string, name: string): Promise<number | undefined> {
    this.assertOpen();
    const cursors = this.deps.keys.feed(collection).cursors;
    const reply = await this.deps.runner.run(`load the cursor ${name} of ${collection}`, (client) =>
      client.hget(cursors, name),
    );
    const seq = reply === null ? NaN : Number(reply);
    return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
  }

  /**
   * Notifications published while the subscriber was away are lost: tell every watcher to read
   * from its cursor. Called once the resubscriptions are confirmed after a reconnect.
   */
  wakeWatchers(): void {
    if (this.closed) return;
    for (const listener of [...this.listeners]) listener();
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private assertOpen(): void {
    // Like every closed port: BackendUnavailableError (not sent).
    if (this.closed) throw closedError();
  }
}

const COLON = 0x3a;

/** `<seq>:<timestamp>:<data>` (published by append-change-2.lua), or undefined if malformed. */
function parseNotification(message: Buffer): FeedEntry | undefined {
  const first = message.indexOf(COLON);
  const second = first < 0 ? -1 : message.indexOf(COLON, first + 1);
  if (second < 0) return undefined;
  const seq = Number(message.toString('latin1', 0, first));
  const timestamp = Number(message.toString('latin1', first + 1, second));
  if (!Number.isSafeInteger(seq) || seq < 1 || !Number.isFinite(timestamp)) return undefined;
  return { seq, timestamp, data: message.subarray(second + 1) };
}

/** One XRANGE entry `0-<seq>` with fields `t`, `d`, or undefined if malformed. */
function parseStreamEntry(id: Buffer, fields: Buffer[]): FeedEntry | undefined {
  const seq = Number(/^0-(\d+)$/.exec(id.toString('latin1'))?.[1]);
  let timestamp = NaN;
  let data: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = (fields[i] as Buffer).toString('latin1');
    if (name === 't') timestamp = Number((fields[i + 1] as Buffer).toString('latin1'));
    else if (name === 'd') data = fields[i + 1];
  }
  if (!Number.isSafeInteger(seq) || !Number.isFinite(timestamp) || data === undefined)
    return undefined;
  return { seq, timestamp, data };
}
