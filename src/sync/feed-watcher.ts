import type { Logger } from 'pino';
import type { ChangeFeedStore, FeedEntry, PortSubscription } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { Change, ChangeHandler } from './types.js';
import { CursorSaver } from './cursor-saver.js';

/** Entries one watcher holds ahead of its handler (notified or read); beyond, it reads later. */
export const WATCH_BUFFER = 1000;
/** Changes per read. */
export const READ_PAGE = 200;
/** Wait before reading again after a failed read (the backend may be reconnecting). */
const RETRY_READ_MS = 500;

export interface WatcherDeps {
  store: ChangeFeedStore;
  codec: Codec;
  logger: Logger;
  /** Reports a handler error (or an undecodable change) and delivery goes on. */
  report: (error: unknown) => void;
  /** Counts the handler in flight (so a stopping plugin waits for it). */
  begin: () => () => void;
}

/** Changes handed to a watcher by `sync()`: handled in turn with live ones. */
interface Replay {
  entries: FeedEntry[];
  done: () => void;
}

/**
 * One `watch()`: delivers the changes of a collection to its handler one at a time, in seq
 * order, none twice. Notifications that carry the next entry are delivered without a read; a
 * gap (a missed notification, a full buffer, a reconnect) makes it read from where it is.
 */
export class FeedWatcher {
  /** Highest seq handled, being handled or buffered: the next expected is `position + 1`. */
  private position = 0;
  private readonly buffer: FeedEntry[] = [];
  private readonly replays: Replay[] = [];
  private needRead = false;
  /** Notifications may have been missed (a reconnect): also check the feed was not reset. */
  private checkReset = false;
  private pumping: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private subscription: PortSubscription | undefined;
  private readonly saver: CursorSaver | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** True while the handler runs (a `sync()` called from it must not wait for itself). */
  inHandler = false;
  readonly ready: Promise<void>;

  constructor(
    readonly collection: string,
    private readonly handler: ChangeHandler,
    private readonly from: number | 'now' | 'start',
    readonly name: string | undefined,
    private readonly deps: WatcherDeps,
  ) {
    this.saver =
      name === undefined
        ? undefined
        : new CursorSaver((seq) => deps.store.saveCursor(collection, name, seq), deps.logger);
    this.ready = this.start();
  }

  /** Subscribe first, then pick the cursor: a change published in between is read or notified. */
  private async start(): Promise<void> {
    const { store } = this.deps;
    this.subscription = await store.watch(this.collection, (entry) => this.notified(entry));
    if (this.stopped) {
      await this.subscription.close();
      return;
    }
    const saved =
      this.name === undefined ? undefined : await store.loadCursor(this.collection, this.name);
    let cursor: number;
    if (saved !== undefined) cursor = saved;
    else if (this.from === 'now') cursor = await store.lastSeq(this.collection);
    // Just before the oldest kept change: what retention trimmed before the start was not missed.
    else if (this.from === 'start') cursor = await store.seqBefore(this.collection, 0);
    else cursor = this.from;
    // A named watcher's first start is kept too: stopped before its first change, it resumes
    // from here, not from a later 'now' that would skip what was published meanwhile.
    if (this.name !== undefined && saved === undefined)
      await store.saveCursor(this.collection, this.name, cursor);
    this.position = cursor;
    this.saver?.startAt(cursor);
    // Notifications heard while starting: keep what follows the cursor, contiguously.
    const early = this.buffer.splice(0).filter((e) => e.seq > cursor);
    for (const entry of early) this.offer(entry);
    this.started = true;
    this.needRead = true;
    this.kick();
  }

  private notified(entry: FeedEntry | undefined): void {
    if (this.stopped) return;
    if (!this.started) {
      if (entry !== undefined && this.buffer.length < WATCH_BUFFER) this.buffer.push(entry);
      return;
    }
    if (entry === undefined) this.needRead = this.checkReset = true;
    else this.offer(entry);
    this.kick();
  }

  /** Buffer `entry` if it is the next one; a later one means a gap: read. */
  private offer(entry: FeedEntry): void {
    if (entry.seq <= this.position) return;
    if (entry.seq === this.position + 1 && this.buffer.length < WATCH_BUFFER && !this.needRead) {
      this.buffer.push(entry);
      this.position = entry.seq;
    } else this.needRead = true;
  }

  /** Replay `entries` (from `sync()`) between live deliveries; resolves once handled. */
  replay(entries: FeedEntry[]): Promise<void> {
    if (this.stopped || entries.length === 0) return Promise.resolve();
    return new Promise<void>((done) => {
      this.replays.push({ entries, done });
      this.kick();
    });
  }

  private kick(): void {
    if (this.pumping !== undefined || this.stopped || this.retryTimer !== undefined) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.hasWork()) this.kick();
    });
  }

  private hasWork(): boolean {
    return (
      !this.stopped &&
      (this.replays.length > 0 || (this.started && (this.buffer.length > 0 || this.needRead)))
    );
  }

  private async pump(): Promise<void> {
    while (this.hasWork()) {
      const replay = this.replays.shift();
      if (replay !== undefined) {
        for (const entry of replay.entries) {
          if (this.stopped) break;
          await this.deliver(entry);
        }
        replay.done();
        continue;
      }
      const entry = this.buffer.shift();
      if (entry !== undefined) {
        await this.deliver(entry);
        this.saver?.save(entry.seq);
        continue;
      }
      if (!(await this.read())) return;
    }
  }

  /** Read after `position` into the buffer; false after a failure (a retry is scheduled). */
  private async read(): Promise<boolean> {
    this.needRead = false;
    let entries: FeedEntry[];
    let from: number;
    try {
      if (this.checkReset) await this.detectReset();
      from = this.position;
      entries = await this.deps.store.read(this.collection, from, READ_PAGE);
    } catch (error) {
      if (this.stopped) return false;
      this.deps.logger.warn(
        { err: error, collection: this.collection },
        'Could not read a change feed; retrying',
      );
      this.needRead = true;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, RETRY_READ_MS);
      this.retryTimer.unref();
      return false;
    }
    const first = entries[0];
    if (first !== undefined && first.seq > from + 1) {
      this.deps.logger.warn(
        { collection: this.collection, watcher: this.name, missed: first.seq - from - 1 },
        'A change-feed watcher fell behind retention: the oldest changes it had not seen were trimmed',
      );
    }
    for (const entry of entries) {
      if (entry.seq <= this.position) continue;
      this.buffer.push(entry);
      this.position = entry.seq;
    }
    // A full page may have more behind it.
    if (entries.length === READ_PAGE) this.needRead = true;
    return true;
  }

  /**
   * A feed whose last seq is below this watcher's position was recreated (the backend lost its
   * data, e.g. Redis restarted without persistence): start again from its beginning.
   */
  private async detectReset(): Promise<void> {
    // Compared with the position before asking: changes heard meanwhile may be newer than the answer.
    const position = this.position;
    const last = await this.deps.store.lastSeq(this.collection);
    this.checkReset = false;
    if (last >= position) return;
    this.deps.logger.warn(
      { collection: this.collection, watcher: this.name, position, lastSeq: last },
      'A change feed restarted from seq 1 (its backend lost its data); the watcher starts over from its beginning',
    );
    this.buffer.length = 0;
    this.position = 0;
    this.saver?.startAt(0);
  }

  private async deliver(entry: FeedEntry): Promise<void> {
    let change: Change;
    try {
      change = this.decode(entry);
    } catch (error) {
      this.deps.report(error);
      return;
    }
    const end = this.deps.begin();
    this.inHandler = true;
    try {
      await this.handler(change);
    } catch (error) {
      this.deps.report(error);
    } finally {
      this.inHandler = false;
      end();
    }
  }

  private decode(entry: FeedEntry): Change {
    const value = this.deps.codec.decode(entry.data) as Partial<Change> | null;
    if (typeof value !== 'object' || value === null || typeof value.type !== 'string') {
      throw new Error(`Change ${entry.seq} of "${this.collection}" is malformed; skipped.`);
    }
    return {
      collection: this.collection,
      type: value.type,
      id: value.id as Change['id'],
      data: value.data,
      seq: entry.seq,
      timestamp: entry.timestamp,
    };
  }

  /**
   * Stop delivering; the change being handled finishes (bounded by `timeoutMs`) and the cursor
   * is saved (in the background when called from the handler).
   */
  async stop(timeoutMs?: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const replay of this.replays.splice(0)) replay.done();
    this.buffer.length = 0;
    const closing = this.subscription
      ?.close()
      .catch((error: unknown) =>
        this.deps.logger.debug({ err: error }, 'Could not unsubscribe a change-feed watcher'),
      );
    const afterPump = (async () => {
      await this.pumping;
      await this.saver?.flush();
    })();
    // Called from the handler itself: waiting for the handler would never end.
    const finishing = this.inHandler ? closing : Promise.all([afterPump, closing]);
    if (timeoutMs === undefined) return void (await finishing);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finishing,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}
