/** Public types of `context.dataSync`: per-collection change feeds. */

/** What happened to a record. */
export type ChangeType = 'create' | 'update' | 'delete';

/** A record id: a string or a finite number. */
export type RecordId = string | number;

/** A change as published. `data` is anything the codec carries (as RPC payloads). */
export interface ChangeInput<T = unknown> {
  type: ChangeType;
  id: RecordId;
  data?: T;
}

/** A recorded change as watchers receive it. */
export interface Change<T = unknown> {
  collection: string;
  type: ChangeType;
  id: RecordId;
  data: T;
  /** Position in the collection's feed: increases by one per change. */
  seq: number;
  /** When the backend recorded it (epoch ms); never decreases along a feed. */
  timestamp: number;
}

/** Where a published change landed. */
export interface Published {
  seq: number;
  timestamp: number;
}

export type ChangeHandler<T = unknown> = (change: Change<T>) => void | Promise<void>;

export interface WatchOptions {
  /**
   * Where to start: `'now'` (default, only changes published from now on), `'start'` (every
   * change still retained), or a seq: the changes after it.
   */
  from?: number | 'now' | 'start';
  /**
   * A durable cursor kept by the backend: a watcher with the same name (e.g. after a restart)
   * resumes after the last change it handled, whatever `from` says (`from` applies when the name
   * has no cursor yet).
   */
  name?: string;
}

/** A running watch (returned at once; it starts in the background). */
export interface FeedSubscription {
  /**
   * Resolves once the watch is in effect: subscribed to the collection's notifications and its
   * starting point known (any change published after this is delivered). Rejects if the
   * backend could not start it (also reported as a plugin error).
   */
  readonly ready: Promise<void>;
  /** True until unsubscribed, the plugin stopped, or the watch could not start (`ready` rejected). */
  readonly active: boolean;
  /** Stop delivering (a change being handled finishes first) and save the cursor. Idempotent. */
  unsubscribe(): Promise<void>;
}

/** A point in time: a Date, an ISO 8601 string (a date alone is that day, UTC) or epoch ms. */
export type TimeInput = Date | string | number;

export interface SyncRange {
  from: TimeInput;
  /** Inclusive; a date-only string means the end of that day (UTC). */
  to: TimeInput;
}

/** `context.dataSync`. */
export interface DataSync {
  /** Record a change of `collection` and notify every watcher in the cluster. */
  publish<T = unknown>(collection: string, change: ChangeInput<T>): Promise<Published>;
  /** Deliver the changes of `collection` to `handler`, one at a time, in seq order, none twice. */
  watch<T = unknown>(
    collection: string,
    handler: ChangeHandler<T>,
    options?: WatchOptions,
  ): FeedSubscription;
  /**
   * Replay the retained changes of `collection` recorded in `range` to this plugin's watchers of
   * it (their cursors do not move); resolves with how many changes it replayed.
   */
  sync(collection: string, range: SyncRange): Promise<number>;
}

/** How much of each feed the backend keeps (host option `dataSync`). */
export interface DataSyncOptions {
  /** Changes kept per collection. Default 10000. */
  maxChanges?: number;
  /** Changes older than this are trimmed, ms. Default 7 days. */
  maxAgeMs?: number;
}
