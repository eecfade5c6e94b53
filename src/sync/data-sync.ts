import type { Logger } from 'pino';
import type { ChangeFeedStore, FeedEntry, FeedRetention } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { PluginScope, Releasable } from '../context/plugin-scope.js';
import { ValidationError } from '../errors/errors.js';
import type { Deadlines } from '../util/deadlines.js';
import { FeedWatcher, READ_PAGE } from './feed-watcher.js';
import type { ChangeHandler, DataSync, FeedSubscription, WatchOptions } from './types.js';
import { assertName, checkChange, checkWatchOptions, toTimeRange } from './validate.js';

/** Retention when the host sets none: 10000 changes and 7 days per collection. */
export const DEFAULT_RETENTION: FeedRetention = {
  maxChanges: 10_000,
  maxAgeMs: 7 * 24 * 60 * 60 * 1000,
};

/** What the runtime gives the block (one per host). */
export interface DataSyncEnv {
  store: ChangeFeedStore;
  codec: Codec;
  logger: Logger;
  deadlines: Deadlines;
  nodeId: string;
  /** How much of each feed the backend keeps (host option `dataSync`). */
  retention?: FeedRetention;
}

/** `context.dataSync` for one plugin. */
export function createDataSync(
  env: DataSyncEnv,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): DataSync {
  const retention = env.retention ?? DEFAULT_RETENTION;
  /** This plugin's watchers per collection (what `sync()` replays to). */
  const watchers = new Map<string, Set<FeedWatcher>>();

  const forget = (watcher: FeedWatcher): void => {
    const set = watchers.get(watcher.collection);
    set?.delete(watcher);
    if (set?.size === 0) watchers.delete(watcher.collection);
  };

  return {
    async publish(collection, change) {
      scope.assertOpen(`publishing to "${String(collection)}"`);
      assertName(collection, 'collection');
      scope.guard?.assert('sync', 'write', collection);
      // Encoded like an RPC payload: the codec refuses what it cannot carry, or too large.
      const data = env.codec.encode(checkChange(change), 'data', 'data');
      const entry = await env.store.append(collection, data, retention);
      return { seq: entry.seq, timestamp: entry.timestamp };
    },

    watch<T>(collection: string, handler: ChangeHandler<T>, options?: WatchOptions) {
      scope.assertOpen(`watching "${String(collection)}"`);
      assertName(collection, 'collection');
      scope.guard?.assert('sync', 'read', collection);
      if (typeof handler !== 'function') {
        throw new ValidationError(
          `The handler for collection "${collection}" must be a function, got ${typeof handler}.`,
          { details: { field: 'handler' } },
        );
      }
      const { from, name } = checkWatchOptions(options);
      const watcher = new FeedWatcher(collection, handler as ChangeHandler, from, name, {
        store: env.store,
        codec: env.codec,
        logger: env.logger,
        report: (error) => report(`watch.${collection}`, error),
        begin: () => {
          scope.tracker.begin();
          return () => scope.tracker.end();
        },
      });
      let set = watchers.get(collection);
      if (set === undefined) watchers.set(collection, (set = new Set()));
      set.add(watcher);
      const held: Releasable = {
        kind: 'feedWatch',
        release: async (timeoutMs) => {
          forget(watcher);
          await watcher.stop(timeoutMs);
        },
      };
      scope.hold(held);
      let active = true;
      // A watch that cannot start is reported (and kept for `ready` to reject), never unhandled.
      watcher.ready.catch((error: unknown) => {
        active = false;
        report(`watch.${collection}`, error);
        scope.drop(held);
        forget(watcher);
        void watcher.stop();
      });
      const subscription: FeedSubscription = {
        get active() {
          return active && !scope.closed;
        },
        ready: watcher.ready,
        async unsubscribe() {
          if (!active) return;
          active = false;
          scope.drop(held);
          await held.release();
        },
      };
      return subscription;
    },

    async sync(collection, range) {
      scope.assertOpen(`syncing "${String(collection)}"`);
      assertName(collection, 'collection');
      scope.guard?.assert('sync', 'read', collection);
      const { fromMs, toMs } = toTimeRange(range);
      const targets = [...(watchers.get(collection) ?? [])];
      await Promise.all(targets.map((w) => w.ready.catch(() => undefined)));
      let position = await env.store.seqBefore(collection, fromMs);
      const end = await env.store.seqBefore(collection, toMs + 1);
      // Seqs between the two are contiguous: with nobody to replay to, that is the count.
      if (targets.length === 0) return Math.max(0, end - position);
      let count = 0;
      while (position < end) {
        const page: FeedEntry[] = (
          await env.store.read(collection, position, Math.min(READ_PAGE, end - position))
        ).filter((e) => e.seq <= end);
        const last = page[page.length - 1];
        if (last === undefined) break;
        count += page.length;
        position = last.seq;
        // Awaited page by page (bounded memory), except for a watcher whose handler is running:
        // it may be the caller, waiting for itself would never end.
        const waits: Promise<void>[] = [];
        for (const w of targets) {
          // Read before replay(), which may start the handler at once.
          const busy = w.inHandler;
          const replayed = w.replay(page);
          if (!busy) waits.push(replayed);
        }
        await Promise.all(waits);
      }
      return count;
    },
  };
}
