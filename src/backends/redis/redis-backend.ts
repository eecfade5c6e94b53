import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { settleWithin } from '../../util/bound.js';
import { Deadlines } from '../../util/deadlines.js';
import { BackendUnavailableError, ValidationError } from '../../errors/errors.js';
import type { Backend, BackendStatus } from '../ports.js';
import { CommandRunner, connectClient, createClient, toBackendError } from './connection.js';
import { MAX_NODE_ID_BYTES } from './entry-codec.js';
import { checkEvictionPolicy } from './eviction-check.js';
import { BackendFaults, type FaultCounts } from './faults.js';
import { createKeys } from './keys.js';
import { Liveness } from './liveness.js';
import { reconnectDelay, type RedisSettings } from './options.js';
import { ByteBudget } from './byte-budget.js';
import { Outbox } from './outbox.js';
import { RedisCacheStore } from './redis-cache-store.js';
import { RedisTxLogStore } from './redis-tx-log-store.js';
import { RedisPolicyStore } from './redis-policy-store.js';
import { RedisAuditStore } from './redis-audit-store.js';
import { RedisKeyUsageStore } from './redis-key-usage-store.js';
import { RedisFeedStore } from './redis-feed-store.js';
import { RedisLockStore } from './redis-lock-store.js';
import { RedisQueueStore } from './redis-queue-store.js';
import { RedisRegistryStore } from './redis-registry-store.js';
import { RedisTransport } from './redis-transport.js';
import { loadScripts } from './scripts.js';
import { SubscriptionHub } from './subscriptions.js';

/**
 * The Redis backend: two connections (commands, subscriber), the transport, registry and queue
 * ports over them, and the node's liveness loop. Status follows the connections:
 * `connecting` → `ready` → `reconnecting` → `ready` → `closed`.
 */
export class RedisBackend implements Backend {
  readonly kind = 'redis';
  readonly clustered = true;
  readonly transport: RedisTransport;
  readonly registry: RedisRegistryStore;
  readonly queues: RedisQueueStore;
  readonly cache: RedisCacheStore;
  readonly locks: RedisLockStore;
  readonly feeds: RedisFeedStore;
  readonly transactions: RedisTxLogStore;
  readonly policies: RedisPolicyStore;
  readonly audit: RedisAuditStore;
  readonly keyUsage: RedisKeyUsageStore;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly runner: CommandRunner;
  private readonly subRunner: CommandRunner;
  private readonly hub: SubscriptionHub;
  private readonly outbox: Outbox;
  /** Every operation's deadline; never keeps the process alive by itself. */
  private readonly deadlines = new Deadlines({ keepAlive: false });
  private readonly liveness: Liveness;
  private readonly faultLog: BackendFaults;
  /** Bumped by every watcher repair, so an older repair's retries stop. */
  private repairs = 0;
  private phase: 'new' | 'starting' | 'started' | 'closed' = 'new';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly nodeId: string,
    private readonly settings: RedisSettings,
    private readonly logger: Logger,
  ) {
    if (nodeId === '' || Buffer.byteLength(nodeId) > MAX_NODE_ID_BYTES) {
      throw new ValidationError(`Node id must be 1 to ${MAX_NODE_ID_BYTES} bytes long.`, {
        details: { field: 'nodeId' },
      });
    }
    this.commands = createClient(settings, 'commands', nodeId, logger);
    this.subscriber = createClient(settings, 'subscriber', nodeId, logger);
    // Channels are server-wide: they carry the database so databases never cross-talk.
    const keys = createKeys(settings.namespace, this.commands.options.db ?? 0);
    this.faultLog = new BackendFaults(logger);
    this.runner = new CommandRunner(this.commands, this.deadlines, settings);
    this.subRunner = new CommandRunner(this.subscriber, this.deadlines, settings);
    this.hub = new SubscriptionHub(this.subRunner, logger);
    // One bound on the bytes held for Redis: transport frames and queue payloads alike.
    const budget = new ByteBudget(settings.maxPendingBytes);
    this.outbox = new Outbox(this.runner, settings, budget);
    this.transport = new RedisTransport(
      nodeId,
      keys,
      this.hub,
      this.outbox,
      this.deadlines,
      logger,
      {
        ...settings,
        commands: this.runner,
      },
    );
    const scripts = loadScripts();
    this.registry = new RedisRegistryStore(
      nodeId,
      keys,
      this.runner,
      this.hub,
      scripts,
      settings.livenessTtl,
      logger,
      this.faultLog,
      settings.cluster,
    );
    this.queues = new RedisQueueStore(
      keys,
      this.runner,
      this.hub,
      scripts,
      logger,
      this.faultLog,
      undefined,
      budget,
    );
    const deps = {
      nodeId,
      keys,
      runner: this.runner,
      hub: this.hub,
      scripts,
      settings,
      logger,
      faults: this.faultLog,
      deadlines: this.deadlines,
      budget,
    };
    this.cache = new RedisCacheStore(deps);
    this.locks = new RedisLockStore(deps);
    this.feeds = new RedisFeedStore(deps);
    this.transactions = new RedisTxLogStore(deps);
    this.policies = new RedisPolicyStore(deps);
    this.audit = new RedisAuditStore(deps);
    this.keyUsage = new RedisKeyUsageStore(deps);
    this.liveness = new Liveness(
      this.registry,
      settings.livenessTtl,
      logger,
      () => this.commands.status === 'ready',
    );
    let commandsWereReady = false;
    this.commands.on('ready', () => {
      // After a reconnect Redis may be a fresh server: prove liveness (and rejoin) at once, have
      // waiting claims mark their queues as waited on again, and bind this node's durable
      // queues again.
      if (commandsWereReady) {
        this.liveness.beatNow();
        this.queues.wakeWaiters();
        this.queues
          .reapplyBindings()
          .catch((error: unknown) =>
            logger.warn({ err: error }, 'could not re-apply durable bindings after a reconnect'),
          );
      }
      commandsWereReady = true;
    });
    let subscriberWasReady = false;
    this.subscriber.on('ready', () => {
      if (subscriberWasReady && this.phase === 'started') this.repairWatchers();
      subscriberWasReady = true;
    });
  }

  /**
   * How often this node met corrupt or forged state in Redis (malformed entries and frames,
   * keys of the wrong type, unconfirmed changes, poisoned nodes...), skipped and survived.
   * A live view; each kind is also logged, rate-limited.
   */
  get faults(): FaultCounts {
    return this.faultLog.view;
  }

  get status(): BackendStatus {
    if (this.phase === 'closed') return 'closed';
    if (this.phase !== 'started') return 'connecting';
    return this.commands.status === 'ready' && this.subscriber.status === 'ready'
      ? 'ready'
      : 'reconnecting';
  }

  /** Bytes of outgoing messages held, bounded by `maxPendingBytes` (flow control). */
  get pendingBytes(): number {
    return this.outbox.pendingBytes;
  }

  /**
   * Connect both clients, check the eviction policy, subscribe the inbox and join the
   * registry. Idempotent.
   * @throws BackendUnavailableError when Redis cannot be reached within `operationTimeout`.
   */
  start(): Promise<void> {
    if (this.phase === 'closed')
      return Promise.reject(
        new BackendUnavailableError('The Redis backend was closed; create a new one.'),
      );
    this.starting ??= this.doStart();
    return this.starting;
  }

  /** Leave the registry (entries removed at once), fail pending requests, close both connections. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  /**
   * Test hook: vanish as `kill -9` would. Connections drop and the heartbeat stops, but the
   * node does not leave: its entries stay until its liveness lapses and another node reaps them.
   */
  async simulateCrash(): Promise<void> {
    this.phase = 'closed';
    this.closing ??= Promise.resolve();
    await this.shutdown();
  }

  /**
   * The subscriber came back: once ioredis's resubscriptions are confirmed (a PING queued behind
   * them answers), tell watchers what changed while they could not hear it. A repair that fails
   * is retried with capped, jittered backoff until it succeeds, a later reconnect starts a new
   * repair, or the backend closes: watchers are never left out of date for good.
   */
  private repairWatchers(): void {
    const repair = ++this.repairs;
    const current = (): boolean => repair === this.repairs && this.phase === 'started';
    void (async () => {
      // ioredis emits 'ready' before writing its SUBSCRIBE replay: queue the PING after it.
      await new Promise((resolve) => setImmediate(resolve));
      let woken = false;
      for (let attempt = 1; current(); attempt++) {
        try {
          await this.subRunner.run('confirm resubscription', (client) => client.ping());
          // Wake-ups published while the subscriber was away are lost: waiting claims look again.
          if (!woken) {
            this.queues.wakeWaiters();
            this.feeds.wakeWatchers();
            this.locks.wakeWatchers();
          }
          woken = true;
          await Promise.all([this.registry.resyncWatchers(), this.queues.resyncBindingWatchers()]);
          if (attempt > 1 && current())
            this.logger.info({ attempts: attempt }, 'Registry watchers resynced');
          return;
        } catch (error) {
          if (!current()) return;
          const delay = reconnectDelay(attempt) * WATCH_REPAIR_BACKOFF;
          const log = attempt === 1 ? 'warn' : 'debug';
          this.logger[log](
            { err: toBackendError(error, 'resync watchers'), attempt, retryInMs: delay },
            'Could not resync registry watchers after a reconnect; retrying',
          );
          await new Promise((resolve) => setTimeout(resolve, delay).unref());
        }
      }
    })();
  }

  private async doStart(): Promise<void> {
    this.phase = 'starting';
    const deadline = Date.now() + this.settings.operationTimeout;
    try {
      await Promise.all([
        this.connect(this.commands, deadline),
        this.connect(this.subscriber, deadline),
      ]);
      await checkEvictionPolicy(this.runner, this.logger, deadline);
      await this.transport.start();
      await this.registry.heartbeat();
      await this.registry.announceMember();
    } catch (error) {
      // Fail by the deadline: drop the sockets rather than wait for a polite QUIT.
      await this.shutdown();
      throw error instanceof BackendUnavailableError || error instanceof ValidationError
        ? error
        : new BackendUnavailableError(
            `Cannot connect to Redis at ${redact(this.settings.url)}: ${(error as Error).message}`,
            { cause: error },
          );
    }
    if (this.phase !== 'starting')
      throw new BackendUnavailableError('The Redis backend was closed while starting.');
    this.phase = 'started';
    this.liveness.start();
    this.logger.debug(
      { nodeId: this.nodeId, namespace: this.settings.namespace },
      'Redis backend ready',
    );
  }

  private connect(client: Redis, deadline: number): Promise<void> {
    return connectClient(client, this.runnerFor(client), this.settings.url, deadline);
  }

  private runnerFor(client: Redis): CommandRunner {
    return client === this.commands ? this.runner : this.subRunner;
  }

  private async doClose(): Promise<void> {
    // The whole close, polite or not, is bounded by one operation timeout.
    const deadline = Date.now() + this.settings.operationTimeout;
    this.phase = 'closed';
    this.liveness.stop();
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    // Also when close() raced start(): the node may have joined already.
    if (this.commands.status === 'ready') {
      this.outbox.flush();
      try {
        await this.registry.leave(deadline);
      } catch (error) {
        this.logger.warn(
          { err: toBackendError(error, 'leave') },
          "Could not leave the registry; entries expire with this node's liveness",
        );
      }
    }
    await this.shutdown(Math.max(0, deadline - Date.now()));
  }

  /** Release everything; with `politeMs` > 0, give QUIT that long before dropping the sockets. */
  private async shutdown(politeMs = 0): Promise<void> {
    this.phase = 'closed';
    this.faultLog.flush();
    this.liveness.stop();
    this.transport.close();
    this.queues.close();
    this.cache.close();
    this.locks.close();
    this.feeds.close();
    this.transactions.close();
    this.policies.close();
    this.audit.close();
    this.keyUsage.close();
    this.hub.close();
    this.runner.close();
    this.subRunner.close();
    if (politeMs > 0)
      await Promise.all([quit(this.commands, politeMs), quit(this.subscriber, politeMs)]);
    drop(this.commands);
    drop(this.subscriber);
    // Anything still waiting on a command settles now rather than at its deadline.
    this.deadlines.close();
  }
}

/**
 * Watcher repair retries wait `reconnectDelay` times this: 100–200 ms at first, doubling, at
 * most 4–8 s (`reconnectDelay` is 25–50 ms at first and 1–2 s at most).
 */
const WATCH_REPAIR_BACKOFF = 4;

/** QUIT politely, but never wait past `timeout` (Redis may be frozen): then drop the socket. */
async function quit(client: Redis, timeout: number): Promise<void> {
  if (client.status === 'end' || client.status === 'wait') {
    drop(client);
    return;
  }
  await settleWithin(() => client.quit(), timeout);
  drop(client);
}

/**
 * Disconnect unless already ended: ioredis's disconnect() of an ended client arms a 2 s timer
 * for its old socket's 'close', which came already, so the timer keeps the process alive 2 s.
 */
function drop(client: Redis): void {
  if (client.status !== 'end') client.disconnect();
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
