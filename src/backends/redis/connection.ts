import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BackendUnavailableError, isPlugboardError, TimeoutError } from '../../errors/errors.js';
import type { DeadlineTracker } from './deadlines.js';
import { reconnectDelay, type RedisSettings } from './options.js';

/** What a connection is for; named in logs and in `CLIENT LIST`. */
export type ConnectionRole = 'commands' | 'subscriber';

/**
 * Open (lazily) one ioredis client with the backend's reconnect policy: reconnect forever with
 * capped jittered backoff, keep commands issued while offline (the {@link CommandRunner} bounds
 * them), and let our own deadlines, not ioredis retry counts, decide when an operation fails.
 */
export function createClient(
  settings: RedisSettings,
  role: ConnectionRole,
  nodeId: string,
  logger: Logger,
): Redis {
  const client = new Redis(settings.url, {
    lazyConnect: true,
    connectionName: `plugboard:${settings.namespace}:${nodeId}:${role}`,
    enableAutoPipelining: role === 'commands',
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResubscribe: true,
    autoResendUnfulfilledCommands: true,
    connectTimeout: settings.operationTimeout,
    noDelay: true,
    retryStrategy: (attempt) => reconnectDelay(attempt),
  });
  let reported = false;
  // An EventEmitter 'error' without listener would crash the process: log once per outage.
  client.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    logger.warn({ err: error, role }, 'Redis connection error; reconnecting with backoff');
  });
  client.on('ready', () => {
    if (reported) logger.info({ role }, 'Redis connection restored');
    reported = false;
  });
  return client;
}

/**
 * Runs commands on one client under the backend's rules: every operation settles by its
 * deadline, and while the client is not connected at most `offlineQueueLimit` commands wait
 * in ioredis's offline queue; past that, operations fail fast with `BackendUnavailableError`.
 * Commands count against the limit until ioredis itself settles them, so the limit is a true
 * bound on memory even for commands whose callers already timed out.
 */
export class CommandRunner {
  private offline = 0;
  private closed = false;

  constructor(
    readonly client: Redis,
    private readonly deadlines: DeadlineTracker,
    private readonly settings: RedisSettings,
  ) {}

  /** Commands issued while offline that ioredis has not settled yet. */
  get offlineCount(): number {
    return this.offline;
  }

  /**
   * Run `command` and settle by `deadline` (epoch ms; default: now + operationTimeout).
   * @throws BackendUnavailableError when closed or when the offline buffer is full (with
   *   `details.sent === false`: nothing reached Redis), or when Redis fails the command.
   * @throws TimeoutError when the deadline passes first.
   */
  run<T>(what: string, command: (client: Redis) => Promise<T>, deadline?: number): Promise<T> {
    if (this.closed) {
      return Promise.reject(
        new BackendUnavailableError(`Cannot ${what}: the Redis backend is closed.`, {
          details: { sent: false },
        }),
      );
    }
    const offline = this.client.status !== 'ready';
    if (offline) {
      if (this.offline >= this.settings.offlineQueueLimit) {
        return Promise.reject(
          new BackendUnavailableError(
            `Cannot ${what}: Redis is unreachable and ${this.offline} operations already wait for it (offlineQueueLimit).`,
            {
              details: {
                limit: this.settings.offlineQueueLimit,
                status: this.client.status,
                sent: false,
              },
            },
          ),
        );
      }
      this.offline++;
    }
    let pending: Promise<T>;
    try {
      pending = command(this.client);
    } catch (error) {
      if (offline) this.offline--;
      return Promise.reject(toBackendError(error, what));
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.deadlines.add(
        deadline ?? Date.now() + this.settings.operationTimeout,
        () => {
          settled = true;
          reject(this.expired(what));
        },
      );
      pending.then(
        (value) => {
          if (offline) this.offline--;
          if (settled) return;
          settled = true;
          this.deadlines.cancel(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (offline) this.offline--;
          if (settled) return;
          settled = true;
          this.deadlines.cancel(timer);
          reject(toBackendError(error, what));
        },
      );
    });
  }

  /** Refuse every later operation. */
  close(): void {
    this.closed = true;
  }

  private expired(what: string): Error {
    const details = { status: this.client.status, timeout: this.settings.operationTimeout };
    if (this.client.status !== 'ready') {
      return new BackendUnavailableError(
        `Cannot ${what}: Redis was unreachable until the deadline.`,
        { details },
      );
    }
    return new TimeoutError(`Redis did not answer in time to ${what}.`, { details });
  }
}

/** True when `error` says the operation never left this process (safe to forget or retry). */
export function wasNotSent(error: unknown): boolean {
  return isPlugboardError(error) && error.details['sent'] === false;
}

/** Any failure of a Redis command, as the Plugboard error building blocks understand. */
export function toBackendError(error: unknown, what: string): Error {
  if (isPlugboardError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BackendUnavailableError(`Cannot ${what}: ${message}`, { cause: error });
}
