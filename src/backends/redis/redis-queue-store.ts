import type { Logger } from 'pino';
import { BackendUnavailableError, ValidationError } from '../../errors/errors.js';
import type {
  BindingListener,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  PortSubscription,
  QueueCounts,
  QueueStore,
} from '../ports.js';
import { BindingWatch, decodeBinding } from './binding-watch.js';
import type { CommandRunner } from './connection.js';
import { ownedMember, type QueueKeys, type RedisKeys } from './keys.js';
import { evalScript, type LuaScript, type ScriptName } from './scripts.js';
import type { SubscriptionHub } from './subscriptions.js';

/** Someone waiting in `claim` for work on one queue. */
interface Waiter {
  notified: boolean;
  wake?: () => void;
}

/** The wake-up subscription of one queue, shared by every claim waiting on it. */
interface QueueWatch {
  readonly queue: string;
  readonly waiters: Set<Waiter>;
  /** Resolves once the wake-up channel is subscribed. */
  readonly ready: Promise<void>;
  /** Removes the channel handler; set once subscribed. */
  unsubscribe?: () => Promise<void>;
  /** Pending close after the last waiter left. */
  idleTimer?: NodeJS.Timeout;
  closed: boolean;
}

/** How long a queue's wake-up subscription outlives its last waiting claim (a consumer loop claims again at once). */
export const QUEUE_WATCH_IDLE_MS = 1000;

/**
 * The queue port over Redis: per queue a LIST of new ids, ZSETs of leased and delayed ids
 * scored by time (Redis TIME), a HASH of payloads and one of attempt counters, a ZSET and HASH
 * of dead letters; every transition is one script. A lease is proven by its token, the attempt
 * number of the claim that took it: `ack`, `release`, `extend` and `deadLetter` compare it
 * atomically in their script and change nothing for a lease that was lost or already settled.
 * Claimers never block a connection: a claim that finds nothing waits for a wake-up on the
 * queue's channel (published by enqueue and release), for the earliest lease or delay to end,
 * or for `waitMs`, whichever comes first. The channel is subscribed while claims wait on it
 * (and {@link QUEUE_WATCH_IDLE_MS} longer), not for the life of the process.
 * Messages live as long as Redis keeps data (configure persistence for durability).
 */
export class RedisQueueStore implements QueueStore {
  private readonly watches = new Map<string, QueueWatch>();
  private closed = false;
  /** Bindings made through this store, re-applied after a reconnect (see reapplyBindings). */
  private readonly boundHere = new Set<string>();
  private readonly bindingWatch: BindingWatch;

  constructor(
    private readonly keys: RedisKeys,
    private readonly runner: CommandRunner,
    private readonly hub: SubscriptionHub,
    private readonly scripts: Record<ScriptName, LuaScript>,
    private readonly logger: Logger,
    private readonly watchIdleMs = QUEUE_WATCH_IDLE_MS,
  ) {
    this.bindingWatch = new BindingWatch(
      hub,
      keys.bindingsChannel,
      () => this.bindingMembers(),
      logger,
      // Removed by anyone (e.g. `host.durable.remove`): not ours to bind again after a reconnect.
      (member) => this.boundHere.delete(Buffer.from(member, 'latin1').toString()),
    );
  }

  async enqueue(queue: string, payload: Uint8Array): Promise<string> {
    const k = this.queueKeys(queue);
    const id = (await this.script(
      'enqueueMessage',
      `enqueue to ${queue}`,
      [k.seq, k.data, k.meta, k.ready],
      [Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), k.notify],
    )) as Buffer;
    return id.toString();
  }

  async claim(queue: string, consumer: string, options: ClaimOptions): Promise<ClaimedMessage[]> {
    const k = this.queueKeys(queue);
    if (!(options.count >= 1) || !(options.leaseMs >= 1)) {
      throw new ValidationError('claim needs count >= 1 and leaseMs >= 1.', {
        details: { queue, consumer },
      });
    }
    const deadline = Date.now() + Math.max(0, options.waitMs);
    const waiter: Waiter = { notified: false };
    // Subscribed before the first look, so no wake-up between the look and the wait is lost.
    const watch = options.waitMs > 0 ? this.join(queue, k, waiter) : undefined;
    try {
      if (watch !== undefined) await watch.ready;
      for (;;) {
        waiter.notified = false;
        const flat = (await this.script(
          'claimMessages',
          `claim from ${queue}`,
          [k.ready, k.leased, k.delayed, k.meta, k.data],
          [options.count, options.leaseMs],
        )) as Array<Buffer | number>;
        const messages = decodeClaimed(flat);
        if (
          messages.length > 0 ||
          this.closed ||
          options.signal?.aborted === true ||
          Date.now() >= deadline
        )
          return messages;
        if (waiter.notified) continue;
        const next = flat[0] as number;
        await sleepUntil(waiter, Math.min(deadline, next > 0 ? next : Infinity), options.signal);
        // Closed meanwhile: nothing was claimed, end the wait empty-handed.
        if (this.closed) return [];
      }
    } finally {
      if (watch !== undefined) this.leave(queue, watch, waiter);
    }
  }

  async ack(queue: string, id: string, lease: string): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.script(
      'ackMessage',
      `ack ${queue}/${id}`,
      [k.leased, k.data, k.meta],
      [id, lease],
    );
    return done === 1;
  }

  async release(queue: string, id: string, lease: string, delayMs: number): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.script(
      'releaseMessage',
      `release ${queue}/${id}`,
      [k.leased, k.delayed, k.meta],
      [id, lease, Math.max(0, Math.round(delayMs)), k.notify],
    );
    return done === 1;
  }

  async extend(queue: string, id: string, lease: string, leaseMs: number): Promise<boolean> {
    const k = this.queueKeys(queue);
    if (!(leaseMs >= 1)) {
      throw new ValidationError('extend needs leaseMs >= 1.', { details: { queue, id } });
    }
    const done = await this.script(
      'extendLease',
      `extend the lease of ${queue}/${id}`,
      [k.leased, k.meta],
      [id, lease, Math.round(leaseMs)],
    );
    return done === 1;
  }

  async deadLetter(queue: string, id: string, lease: string, reason: string): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.script(
      'deadLetterMessage',
      `dead-letter ${queue}/${id}`,
      [k.leased, k.meta, k.dead, k.why],
      [id, lease, reason],
    );
    return done === 1;
  }

  async counts(queue: string): Promise<QueueCounts> {
    const k = this.queueKeys(queue);
    const [ready, delayed, leased, dead] = (await this.script(
      'countMessages',
      `count ${queue}`,
      [k.ready, k.leased, k.delayed, k.dead],
      [],
    )) as number[];
    return { ready: ready ?? 0, delayed: delayed ?? 0, leased: leased ?? 0, dead: dead ?? 0 };
  }

  async bind(queue: string, pattern: string): Promise<void> {
    this.queueKeys(queue);
    const member = ownedMember(queue, pattern);
    this.boundHere.add(member);
    await this.script(
      'bindQueue',
      `bind ${queue}`,
      [this.keys.bindings],
      [member, this.keys.bindingsChannel],
    );
  }

  async unbind(queue: string, pattern: string): Promise<void> {
    this.queueKeys(queue);
    const member = ownedMember(queue, pattern);
    this.boundHere.delete(member);
    await this.script(
      'unbindQueue',
      `unbind ${queue}`,
      [this.keys.bindings],
      [member, this.keys.bindingsChannel],
    );
  }

  /**
   * Bind again everything bound through this store. Run after a reconnect: a server that
   * restarted without persistence has forgotten the bindings (as the registry rejoins its entries).
   */
  async reapplyBindings(): Promise<void> {
    if (this.closed) return;
    // Through the bind script, so nodes that already resynced hear what comes back.
    await Promise.all(
      [...this.boundHere].map((member) =>
        this.script(
          'bindQueue',
          're-apply bindings',
          [this.keys.bindings],
          [member, this.keys.bindingsChannel],
        ),
      ),
    );
  }

  async bindings(): Promise<Array<{ queue: string; pattern: string }>> {
    return (await this.bindingMembers()).map(decodeBinding);
  }

  watchBindings(listener: BindingListener): Promise<PortSubscription> {
    this.assertOpen();
    return this.bindingWatch.watch(listener);
  }

  /** After the subscriber reconnected: tell binding watchers what they missed. */
  resyncBindingWatchers(): Promise<void> {
    return this.bindingWatch.resync();
  }

  async queueNames(): Promise<string[]> {
    this.assertOpen();
    const names = new Set((await this.bindings()).map((b) => b.queue));
    const { queuePrefix } = this.keys;
    const match = `${escapeGlob(queuePrefix)}*:seq`;
    let cursor = '0';
    do {
      const [next, found] = await this.runner.run('list queues', (client) =>
        client.scan(cursor, 'MATCH', match, 'COUNT', 500),
      );
      cursor = next;
      for (const key of found) names.add(key.slice(queuePrefix.length, -':seq'.length));
    } while (cursor !== '0');
    return [...names];
  }

  async deadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    const k = this.queueKeys(queue);
    const flat = (await this.script(
      'listDeadLetters',
      `list dead letters of ${queue}`,
      [k.dead, k.why, k.data, k.meta],
      [Math.max(0, Math.floor(limit))],
    )) as Array<Buffer | number>;
    const out: DeadLetter[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      const meta = (flat[i + 4] as Buffer).toString();
      const colon = meta.indexOf(':');
      out.push({
        id: (flat[i] as Buffer).toString(),
        deadAt: flat[i + 1] as number,
        reason: (flat[i + 2] as Buffer).toString(),
        payload: flat[i + 3] as Buffer,
        attempt: Number(meta.slice(0, colon)),
        enqueuedAt: Number(meta.slice(colon + 1)),
      });
    }
    return out;
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.script(
      'removeDeadLetter',
      `remove dead letter ${queue}/${id}`,
      [k.dead, k.why, k.data, k.meta],
      [id],
    );
    return done === 1;
  }

  async retryDeadLetter(queue: string, id: string): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.script(
      'retryDeadLetter',
      `retry dead letter ${queue}/${id}`,
      [k.dead, k.why, k.delayed],
      [id, k.notify],
    );
    return done === 1;
  }

  async purgeDeadLetters(queue: string): Promise<number> {
    const k = this.queueKeys(queue);
    return (await this.script(
      'purgeDeadLetters',
      `purge dead letters of ${queue}`,
      [k.dead, k.why, k.data, k.meta],
      [],
    )) as number;
  }

  async deleteQueue(queue: string): Promise<void> {
    const k = this.queueKeys(queue);
    const prefix = ownedMember(queue, '');
    for (const member of [...this.boundHere])
      if (member.startsWith(prefix)) this.boundHere.delete(member);
    await this.script(
      'deleteQueue',
      `delete ${queue}`,
      [this.keys.bindings, k.seq, k.data, k.meta, k.ready, k.leased, k.delayed, k.dead, k.why],
      [prefix, this.keys.bindingsChannel],
    );
  }

  private async bindingMembers(): Promise<Buffer[]> {
    this.assertOpen();
    return this.runner.run('list bindings', (client) => client.smembersBuffer(this.keys.bindings));
  }

  /** Wake every waiting claim (they return what they have) and drop every wake-up subscription. */
  close(): void {
    this.closed = true;
    this.bindingWatch.close();
    for (const watch of [...this.watches.values()]) {
      for (const waiter of watch.waiters) waiter.wake?.();
      this.closeWatch(watch);
    }
    this.watches.clear();
  }

  /** Queues whose wake-up channel is subscribed (or being subscribed) now; for tests. */
  get watchedQueues(): string[] {
    return [...this.watches.keys()];
  }

  /** Add `waiter` to the queue's watch, subscribing its wake-up channel if nobody else does. */
  private join(queue: string, k: QueueKeys, waiter: Waiter): QueueWatch {
    let watch = this.watches.get(queue);
    if (watch === undefined) {
      const waiters = new Set<Waiter>();
      const created: QueueWatch = {
        queue,
        waiters,
        closed: false,
        ready: this.hub
          .add(k.notify, () => {
            for (const w of waiters) {
              w.notified = true;
              w.wake?.();
            }
          })
          .then(
            (unsubscribe) => {
              created.unsubscribe = unsubscribe;
              // Closed while subscribing (idle, or the store closed): undo at once.
              if (created.closed) this.unsubscribe(created);
            },
            (error: unknown) => {
              // A failed subscribe is retried by the next claim.
              this.forget(queue, created);
              throw error;
            },
          ),
      };
      created.ready.catch(() => undefined);
      this.watches.set(queue, (watch = created));
    }
    clearTimeout(watch.idleTimer);
    watch.idleTimer = undefined;
    watch.waiters.add(waiter);
    return watch;
  }

  /** `waiter` is done: once nobody waits for a while, unsubscribe. */
  private leave(queue: string, watch: QueueWatch, waiter: Waiter): void {
    watch.waiters.delete(waiter);
    if (watch.waiters.size > 0 || watch.closed || this.watches.get(queue) !== watch) return;
    clearTimeout(watch.idleTimer);
    watch.idleTimer = setTimeout(() => {
      watch.idleTimer = undefined;
      if (watch.waiters.size === 0) {
        this.forget(queue, watch);
        this.closeWatch(watch);
      }
    }, this.watchIdleMs);
    watch.idleTimer.unref();
  }

  private forget(queue: string, watch: QueueWatch): void {
    if (this.watches.get(queue) === watch) this.watches.delete(queue);
  }

  private closeWatch(watch: QueueWatch): void {
    clearTimeout(watch.idleTimer);
    watch.idleTimer = undefined;
    if (watch.closed) return;
    watch.closed = true;
    // Not subscribed yet: `join` undoes it once the SUBSCRIBE is confirmed.
    if (watch.unsubscribe !== undefined) this.unsubscribe(watch);
  }

  private unsubscribe(watch: QueueWatch): void {
    watch
      .unsubscribe?.()
      .catch((error: unknown) =>
        this.logger.debug(
          { err: error, queue: watch.queue },
          'Could not unsubscribe from queue wake-ups',
        ),
      );
  }

  private script(
    name: ScriptName,
    what: string,
    keys: string[],
    args: (string | Buffer | number)[],
  ): Promise<unknown> {
    this.assertOpen();
    const script = this.scripts[name];
    return this.runner.run(what, (client, caller) =>
      evalScript(client, script, keys, args, caller),
    );
  }

  private queueKeys(queue: string): QueueKeys {
    this.assertOpen();
    if (queue === '' || Buffer.byteLength(queue) > 0xffff) {
      throw new ValidationError('A queue name must be 1 to 65535 bytes long.', {
        details: { field: 'queue' },
      });
    }
    return this.keys.queue(queue);
  }

  private assertOpen(): void {
    if (this.closed)
      throw new BackendUnavailableError('The Redis backend of this host is closed.', {
        details: { sent: false },
      });
  }
}

/** Longest delay `setTimeout` honours (longer ones fire at once). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Wait until `until` (epoch ms), until `waiter` is woken, or until `signal` aborts (at once if
 * it already has). Leaves no timer, listener or wake function behind, whichever comes first.
 */
function sleepUntil(waiter: Waiter, until: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      if (waiter.wake === done) waiter.wake = undefined;
      resolve();
    };
    // Capped: past it the caller simply looks again.
    const timer = setTimeout(done, Math.min(MAX_TIMER_MS, Math.max(0, until - Date.now())));
    waiter.wake = done;
    signal?.addEventListener('abort', done, { once: true });
  });
}

function decodeClaimed(flat: Array<Buffer | number>): ClaimedMessage[] {
  const out: ClaimedMessage[] = [];
  for (let i = 1; i + 3 < flat.length; i += 4) {
    const payload = flat[i + 1] as Buffer;
    out.push({
      id: (flat[i] as Buffer).toString(),
      payload,
      attempt: flat[i + 2] as number,
      enqueuedAt: flat[i + 3] as number,
      // The lease token is the attempt number: every claim of a message increments it.
      lease: String(flat[i + 2]),
    });
  }
  return out;
}

/** `s` as a literal in a SCAN MATCH pattern. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
