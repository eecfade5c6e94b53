import type { Redis } from 'ioredis';
import { BackendUnavailableError } from '../../errors/errors.js';
import type { CacheInvalidation, PortSubscription } from '../ports.js';
import { CommandRunner, createClient, toBackendError } from './connection.js';
import type { RedisStoreDeps } from './store-deps.js';

type Listener = (invalidation: CacheInvalidation) => void;

/** The channel Redis publishes tracking invalidations on (RESP2 with REDIRECT). */
const INVALIDATE_CHANNEL = '__redis__:invalidate';
const LOST: CacheInvalidation = Object.freeze({ kind: 'all', lost: true });
const RESUMED: CacheInvalidation = Object.freeze({ kind: 'all' });

/**
 * Invalidations of the shared cache's keys for this node (`CacheStore.watchInvalidations`),
 * through Redis's server-assisted client-side caching: one dedicated connection, opened on the
 * first watch, runs `CLIENT TRACKING on REDIRECT <its own id> BCAST PREFIX <cache prefix>` and
 * subscribes to `__redis__:invalidate`. Redis then reports every change of a key under the
 * prefix, whoever made it (any client, expiry, eviction); `FLUSHALL`/`FLUSHDB` arrive as a
 * null message (→ `all`). When the connection drops this node may miss changes, so it emits
 * `all` with `lost` at once, and `all` again once tracking is back on the new connection.
 *
 * RESP2 on purpose: ioredis answers RESP3 `invalidate` pushes with nothing, while a RESP2
 * connection that redirects to itself and subscribes receives them as ordinary messages.
 * Tracking is server-wide, not per logical database: writes to the same key names in another
 * database invalidate too (harmless: an extra miss).
 */
export class RedisCacheTracking {
  private readonly listeners = new Set<Listener>();
  private client: Redis | undefined;
  private runner: CommandRunner | undefined;
  /** Tracking is on and subscribed on the current connection. */
  private live = false;
  /** Listeners were told `lost` and not yet `all` again. */
  private lostSent = false;
  private liveWaiters = new Set<() => void>();
  private lastSetupError: Error | undefined;
  private closed = false;
  /** The next check that the live connection still answers (see {@link checkLater}). */
  private checkTimer: NodeJS.Timeout | undefined;
  /** Bumped on every loss: a check of an earlier connection then does nothing. */
  private generation = 0;

  constructor(
    readonly deps: RedisStoreDeps,
    /** Every cache key starts with it (what the tracking covers). */
    readonly keyPrefix: string,
  ) {}

  /** True while tracking is on (for tests and health). */
  get tracking(): boolean {
    return this.live;
  }

  /**
   * Hear invalidations from now on. Resolves once tracking is on.
   * @throws BackendUnavailableError when tracking cannot be turned on within `operationTimeout`.
   */
  async watch(listener: Listener): Promise<PortSubscription> {
    if (this.closed)
      throw new BackendUnavailableError('Cannot watch cache invalidations: the backend is closed.');
    const entry: Listener = (invalidation) => listener(invalidation);
    this.listeners.add(entry);
    this.open();
    try {
      await this.untilLive();
    } catch (error) {
      this.listeners.delete(entry);
      this.stopIfUnused();
      throw error;
    }
    let closed = false;
    return {
      close: () => {
        if (!closed) {
          closed = true;
          this.listeners.delete(entry);
          this.stopIfUnused();
        }
        return Promise.resolve();
      },
    };
  }

  /** Drop the connection (the backend closes). */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stop();
    for (const wake of this.liveWaiters) wake();
    this.liveWaiters.clear();
  }

  /** The connection's id in `CLIENT LIST` (tests kill it to prove a lost channel flushes). */
  async clientId(): Promise<number | undefined> {
    const runner = this.runner;
    if (runner === undefined || !this.live) return undefined;
    return Number(await runner.run('read the tracking client id', (c) => c.client('ID')));
  }

  private open(): void {
    if (this.client !== undefined) return;
    const { settings, nodeId, logger, deadlines } = this.deps;
    const client = createClient(settings, 'tracking', nodeId, logger);
    const runner = new CommandRunner(client, deadlines, settings);
    this.client = client;
    this.runner = runner;
    client.on('ready', () => void this.setUp(client, runner));
    client.on('close', () => this.connectionLost(client));
    client.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (client === this.client && channel.toString() === INVALIDATE_CHANNEL)
        this.dispatch(message);
    });
    client.connect().catch(() => undefined); // reconnects on its own; watch() bounds the wait
  }

  private async setUp(client: Redis, runner: CommandRunner): Promise<void> {
    try {
      const id = await runner.run('read the tracking client id', (c) => c.client('ID'));
      await runner.run('turn on cache tracking', (c) =>
        c.call(
          'CLIENT',
          'TRACKING',
          'on',
          'REDIRECT',
          String(id),
          'BCAST',
          'PREFIX',
          this.keyPrefix,
        ),
      );
      await runner.run('subscribe to cache invalidations', (c) => c.subscribe(INVALIDATE_CHANNEL));
    } catch (error) {
      if (client !== this.client) return;
      const first = this.lastSetupError === undefined;
      this.lastSetupError = toBackendError(error, 'turn on cache tracking');
      // Once per outage at warn level: a server that refuses tracking would log on every retry.
      this.deps.logger[first ? 'warn' : 'debug'](
        { err: this.lastSetupError },
        'Could not turn on Redis cache tracking; reconnecting to try again',
      );
      client.disconnect(true);
      return;
    }
    if (client !== this.client) return;
    this.live = true;
    this.lastSetupError = undefined;
    // Whatever local tiers cached while tracking was off may be stale: drop it, then resume.
    if (this.lostSent) {
      this.lostSent = false;
      this.emit(RESUMED);
    }
    for (const wake of this.liveWaiters) wake();
    this.liveWaiters.clear();
    this.checkLater(client, runner, this.generation);
  }

  /**
   * A connection that died without a FIN (a partition, a host gone) emits no 'close', and an
   * idle tracking connection sends nothing that would notice: tiers would keep values deleted
   * meanwhile. So every `operationTimeout` it PINGs (allowed while subscribed); no answer within
   * `operationTimeout` counts as a loss (tiers flush at once) and the socket is dropped.
   */
  private checkLater(client: Redis, runner: CommandRunner, generation: number): void {
    clearTimeout(this.checkTimer);
    const { operationTimeout } = this.deps.settings;
    const current = (): boolean => client === this.client && generation === this.generation;
    this.checkTimer = setTimeout(() => {
      if (!current()) return;
      runner
        .run('check the cache tracking connection', (c) => c.ping())
        .then(
          () => {
            if (current()) this.checkLater(client, runner, generation);
          },
          (error: unknown) => {
            if (!current()) return;
            this.deps.logger.warn(
              { err: toBackendError(error, 'check the cache tracking connection') },
              'The cache tracking connection stopped answering; local tiers flush, reconnecting',
            );
            this.connectionLost(client);
            // end() would wait for a peer that does not answer: destroy, so ioredis reconnects.
            client.stream.destroy();
          },
        );
    }, operationTimeout);
    this.checkTimer.unref();
  }

  private connectionLost(client: Redis): void {
    if (client !== this.client) return;
    this.generation++;
    clearTimeout(this.checkTimer);
    this.live = false;
    if (!this.lostSent && this.listeners.size > 0) {
      this.lostSent = true;
      this.emit(LOST);
    }
  }

  private dispatch(message: unknown): void {
    if (message === null || message === undefined) {
      this.emit(RESUMED); // FLUSHALL / FLUSHDB: every key is gone
      return;
    }
    const names = Array.isArray(message) ? (message as unknown[]) : [message];
    const keys: string[] = [];
    const prefix = this.keyPrefix;
    for (const name of names) {
      const key = Buffer.isBuffer(name) ? name.toString() : String(name);
      if (key.startsWith(prefix)) keys.push(key.slice(prefix.length));
    }
    if (keys.length > 0) this.emit({ kind: 'keys', keys });
  }

  private emit(invalidation: CacheInvalidation): void {
    for (const listener of this.listeners) {
      try {
        listener(invalidation);
      } catch (error) {
        this.deps.logger.error({ err: error }, 'cache invalidation listener threw');
      }
    }
  }

  private untilLive(): Promise<void> {
    if (this.live) return Promise.resolve();
    const { operationTimeout } = this.deps.settings;
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        timer.cancel();
        this.liveWaiters.delete(wake);
        if (this.live) resolve();
        else
          reject(new BackendUnavailableError('The backend closed before cache tracking was on.'));
      };
      const timer = this.deps.deadlines.at(Date.now() + operationTimeout, () => {
        this.liveWaiters.delete(wake);
        const why = this.lastSetupError?.message ?? 'Redis was unreachable';
        reject(
          new BackendUnavailableError(
            `Cannot watch cache invalidations: tracking was not on within ${operationTimeout} ms (${why}).`,
            { details: { timeout: operationTimeout } },
          ),
        );
      });
      this.liveWaiters.add(wake);
    });
  }

  private stopIfUnused(): void {
    if (this.listeners.size === 0 && this.liveWaiters.size === 0) this.stop();
  }

  private stop(): void {
    const client = this.client;
    this.client = undefined;
    this.live = false;
    clearTimeout(this.checkTimer);
    this.lostSent = false;
    this.runner?.close();
    this.runner = undefined;
    client?.disconnect();
  }
}
