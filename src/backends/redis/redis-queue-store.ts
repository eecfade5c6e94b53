import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BackendUnavailableError, ValidationError } from '../../errors/errors.js';
import type {
  BindingListener,
  ClaimedMessage,
  ClaimOptions,
  DeadLetter,
  EnqueueItem,
  EnqueueOptions,
  PortSubscription,
  QueueActivity,
  QueueCounts,
  QueueStore,
  SettleItem,
} from '../ports.js';
import { BindingWatch, decodeBinding } from './binding-watch.js';
import { ByteBudget } from './byte-budget.js';
import type { CommandCaller, CommandRunner } from './connection.js';
import { HeldWrites } from './held-writes.js';
import { isReplyError, type BackendFaults } from './faults.js';
import { ownedMember, type QueueKeys, type RedisKeys } from './keys.js';
import { REDIS_DEFAULTS } from './options.js';
import { enqueueArgs, type EnqueueArgs } from './queue-options.js';
import { validateClaimOptions, validateDelayMs, validateLeaseMs } from '../queue-options.js';
import {
  MAX_TIMER_MS,
  QUEUE_WATCH_IDLE_MS,
  QueueWakeups,
  sleepUntil,
  type Waiter,
} from './queue-wakeups.js';
import { RedisClock } from './redis-clock.js';
import { evalScript, type LuaScript, type ScriptName } from './scripts.js';
import type { SubscriptionHub } from './subscriptions.js';

export { QUEUE_WATCH_IDLE_MS } from './queue-wakeups.js';

/** Most queues whose key names are kept built (a cache for the hot path, cleared when full). */
const KEY_CACHE_SIZE = 1024;
/** Dead letters moved back or purged per script call (bounds each call's work). */
const DEAD_LETTER_CHUNK = 1000;
/**
 * Most messages per enqueue or ack script call: bounds one call's work (and its Lua `unpack`s,
 * far below Lua's stack limit); a larger batch is several calls sent back to back.
 */
const BATCH_CHUNK = 500;
/** How much longer than its own wait a claimer's "someone waits" mark lasts (latency slack). */
const WAKE_MARK_SLACK_MS = 1000;
/** claim-messages-12's `next` when it ran past its "not after" bound and took nothing. */
const CLAIM_RAN_LATE = -2;
/** Claim runs in a row that may come back "too late" before a claim call gives up (empty). */
const MAX_LATE_CLAIMS = 3;
/**
 * Time left for a claim's reply to travel back: Redis runs a claim only if it starts this long
 * before the caller's deadline (at most a fifth of operationTimeout).
 */
const CLAIM_REPLY_MS = 100;

/**
 * The queue port over Redis. Each queue's keys share the hash tag `{<ns>:q:<queue>}` (one slot
 * per queue on Redis Cluster, see keys.ts): a LIST of ready ids of priority 0 and a ZSET of
 * ready ids of other priorities, ZSETs of leased and delayed ids scored by time (Redis TIME),
 * a HASH of payloads and one of metas (attempt, enqueue time, max deliveries, priority, lease
 * token), a ZSET and HASH of dead letters, an activity ring; every transition is one script,
 * O(1) or O(log n) on the hot path (enqueue, claim, ack).
 *
 * A lease is proven by its token, random and unique per delivery (a random prefix per claim
 * call plus the delivery's position in it), stored with the message by the claim: `ack`,
 * `release`, `extend` and `deadLetter` compare it atomically in their script and change
 * nothing for a lease that was lost or already settled, and no token of an earlier delivery
 * (even one from before a Redis restart) ever matches.
 *
 * Claimers never block a connection: a claim that finds nothing marks the queue as waited on
 * (a key with an expiry) and waits for a wake-up on the queue's channel (published by enqueue,
 * release and retry while the mark exists), until the time the script named (earliest lease
 * end, due time, or rate-limit window end, measured on Redis's clock), or `waitMs`, whichever
 * comes first. The channel is subscribed while claims wait on it (and
 * {@link QUEUE_WATCH_IDLE_MS} longer), not for the life of the process. After a reconnect every
 * waiting claim looks again ({@link wakeWaiters}): marks and wake-ups may have been lost.
 * A claim that Redis runs after its caller gave up takes nothing ({@link claimOnce}), and
 * enqueued payloads count against the backend's byte budget until Redis answers them.
 * Messages live as long as Redis keeps data (configure persistence for durability).
 */
export class RedisQueueStore implements QueueStore {
  private readonly wakeups: QueueWakeups;
  private readonly keyCache = new Map<string, QueueKeys>();
  /** The offset between this process's clock and Redis's, learned from claim replies. */
  private readonly clock = new RedisClock();
  private closed = false;
  /** The TIME round trip in flight while the clock offset is unknown. */
  private clockRead: Promise<void> | undefined;
  /** Scripts carrying payloads, held against the byte budget until Redis answers. */
  private readonly held: HeldWrites;
  /** Bindings made through this store, re-applied after a reconnect (see reapplyBindings). */
  private readonly boundHere = new Set<string>();
  private readonly bindingWatch: BindingWatch;

  constructor(
    private readonly keys: RedisKeys,
    private readonly runner: CommandRunner,
    hub: SubscriptionHub,
    private readonly scripts: Record<ScriptName, LuaScript>,
    private readonly logger: Logger,
    private readonly faults: BackendFaults,
    watchIdleMs = QUEUE_WATCH_IDLE_MS,
    budget = new ByteBudget(REDIS_DEFAULTS.maxPendingBytes),
  ) {
    this.held = new HeldWrites(runner, budget);
    this.wakeups = new QueueWakeups(hub, logger, watchIdleMs);
    this.bindingWatch = new BindingWatch(
      hub,
      keys.bindingsChannel,
      () => this.bindingMembers(),
      logger,
      // Removed by anyone (e.g. `host.durable.remove`): not ours to bind again after a reconnect.
      (member) => this.boundHere.delete(Buffer.from(member, 'latin1').toString()),
    );
  }

  async enqueue(queue: string, payload: Uint8Array, options?: EnqueueOptions): Promise<string> {
    const [id] = await this.enqueueMany(queue, [{ payload, ...(options && { options }) }]);
    return id!;
  }

  async enqueueMany(queue: string, items: readonly EnqueueItem[]): Promise<string[]> {
    const k = this.queueKeys(queue);
    // Every item checked before anything is sent: a bad one stores nothing.
    const args = items.map((item) => enqueueArgs(item.options));
    const calls: Array<Promise<string[]>> = [];
    for (let first = 0; first < items.length; first += BATCH_CHUNK) {
      const end = Math.min(items.length, first + BATCH_CHUNK);
      calls.push(this.enqueueChunk(queue, k, items.slice(first, end), args.slice(first, end)));
    }
    // Issued back to back on one connection, so Redis runs the chunks in order.
    return (await Promise.all(calls)).flat();
  }

  private async enqueueChunk(
    queue: string,
    k: QueueKeys,
    items: readonly EnqueueItem[],
    options: readonly EnqueueArgs[],
  ): Promise<string[]> {
    const keys = [k.seq, k.data, k.meta, k.ready, k.prio, k.delayed, k.rate, k.wake, k.epoch];
    /** KEYS index (1-based) of each distinct dedup key of the chunk. */
    const dedupIndex = new Map<string, number>();
    const argv: Array<string | Buffer | number> = [k.notify];
    items.forEach(({ payload }, i) => {
      const o = options[i]!;
      let keyIndex = 0;
      if (o.dedupKey !== undefined) {
        keyIndex = dedupIndex.get(o.dedupKey) ?? keys.push(k.dedup(o.dedupKey));
        dedupIndex.set(o.dedupKey, keyIndex);
      }
      // The options as one argument: five fewer per message to write, parse and send.
      argv.push(
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        `${o.delayMs}:${o.notBefore}:${o.priority}:${o.maxAttempts}:${o.dedupMs}:${keyIndex}`,
      );
    });
    const flat = (await this.queueScript(
      k,
      'enqueueMessages',
      `enqueue to ${queue}`,
      keys,
      argv,
    )) as Array<number | Buffer>;
    // Due delayed ids without meta (corrupt or forged) were dropped on the way.
    if ((flat[0] as number) > 0)
      this.faults.record('malformedQueueMessage', { queue }, undefined, flat[0] as number);
    return flat.slice(1).map(String);
  }

  async remove(queue: string, id: string): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.queueScript(
      k,
      'removeMessage',
      `remove ${queue}/${id}`,
      [k.meta, k.data, k.delayed, k.prio, k.dead, k.ready],
      [id],
    );
    return done === 1;
  }

  async claim(queue: string, _consumer: string, options: ClaimOptions): Promise<ClaimedMessage[]> {
    const k = this.queueKeys(queue);
    validateClaimOptions(options);
    const count = Math.floor(options.count);
    const leaseMs = Math.max(1, Math.round(options.leaseMs));
    const limit = options.rateLimit;
    const deadline = Date.now() + Math.max(0, options.waitMs);
    const waiter: Waiter = { notified: false };
    // Subscribed before the first look, so no wake-up between the look and the wait is lost.
    const watch = options.waitMs > 0 ? this.wakeups.join(queue, k.notify, waiter) : undefined;
    try {
      if (watch !== undefined) await watch.ready;
      let late = 0;
      for (;;) {
        waiter.notified = false;
        const prefix = leaseTokenPrefix();
        const left = deadline - Date.now();
        const flat = await this.claimOnce(k, queue, prefix, [
          count,
          leaseMs,
          prefix,
          limit?.max ?? 0,
          Math.ceil(limit?.intervalMs ?? 0),
          watch === undefined || left <= 0
            ? 0
            : Math.min(MAX_TIMER_MS, Math.ceil(left) + WAKE_MARK_SLACK_MS),
        ]);
        if (flat === undefined) {
          // Ran past its bound although we still wait (the clock offset was underestimated;
          // the reply taught a better one): nothing was taken, look again.
          if (++late < MAX_LATE_CLAIMS && !this.closed && options.signal?.aborted !== true)
            continue;
          return [];
        }
        this.faults.record('malformedQueueMessage', { queue }, undefined, flat[1] as number);
        if ((flat[2] as number) > 0) {
          this.logger.debug(
            { queue, count: flat[2] },
            'Dead-lettered messages delivered too often without being settled',
          );
        }
        const messages = decodeClaimed(flat, prefix);
        if (
          messages.length > 0 ||
          this.closed ||
          options.signal?.aborted === true ||
          Date.now() >= deadline
        )
          return messages;
        if (waiter.notified) continue;
        const next = flat[0] as number;
        await sleepUntil(
          waiter,
          Math.min(deadline, next >= 0 ? Date.now() + next : Infinity),
          options.signal,
        );
        // Closed meanwhile: nothing was claimed, end the wait empty-handed.
        if (this.closed) return [];
      }
    } finally {
      if (watch !== undefined) this.wakeups.leave(queue, watch, waiter);
    }
  }

  /**
   * One run of the claim script, bounded on Redis's clock by this run's deadline: a run that
   * Redis starts after this process stopped waiting for its reply (written before a freeze and
   * run at the thaw) takes nothing, instead of leasing messages to nobody for a whole lease.
   * The bound is this process's deadline moved onto Redis's clock by the offset learned from
   * earlier replies (see {@link RedisClock}; the first claim asks Redis's TIME), so skew
   * between the clocks does not matter. A run that took messages but whose reply came after
   * the caller gave up (Redis ran it just before the bound) gives them back at once. Resolves
   * with the script's reply, or undefined when it ran too late.
   */
  private async claimOnce(
    k: QueueKeys,
    queue: string,
    prefix: string,
    args: Array<string | number>,
  ): Promise<Array<Buffer | number> | undefined> {
    const timeout = this.runner.operationTimeout;
    const runDeadline = Date.now() + timeout;
    // Concurrent first claims share one TIME round trip.
    if (!this.clock.known) {
      this.clockRead ??= this.readRedisClock(runDeadline).finally(
        () => (this.clockRead = undefined),
      );
      await this.clockRead;
    }
    // The reply must still reach us before the deadline: leave it a little time to travel.
    const margin = Math.min(CLAIM_REPLY_MS, timeout / 5);
    const notAfter = this.clock.toRedis(runDeadline - margin) ?? 0;
    const sentAt = Date.now();
    let written: Promise<unknown> | undefined;
    let flat: Array<Buffer | number>;
    try {
      flat = (await this.queueScript(
        k,
        'claimMessages',
        `claim from ${queue}`,
        [
          k.ready,
          k.prio,
          k.leased,
          k.delayed,
          k.meta,
          k.data,
          k.seq,
          k.dead,
          k.why,
          k.rate,
          k.rateLimit,
          k.wake,
        ],
        [...args, notAfter],
        {
          deadline: runDeadline,
          written: (reply) => {
            written = reply;
          },
        },
      )) as Array<Buffer | number>;
    } catch (error) {
      if (written !== undefined) this.giveBackLate(queue, prefix, written);
      throw error;
    }
    this.clock.sample(flat[3] as number, sentAt, Date.now());
    return flat[0] === CLAIM_RAN_LATE ? undefined : flat;
  }

  /**
   * A claim whose caller gave up (timeout, or the connection dropped) may still be answered:
   * release what it leased at once (redelivered now, its attempt counted), rather than leave
   * it leased to nobody for a whole lease.
   */
  private giveBackLate(queue: string, prefix: string, reply: Promise<unknown>): void {
    reply.then(
      (flat) => {
        if (!Array.isArray(flat) || flat[0] === CLAIM_RAN_LATE || this.closed) return;
        const messages = decodeClaimed(flat as Array<Buffer | number>, prefix);
        if (messages.length === 0) return;
        this.logger.debug(
          { queue, count: messages.length },
          'Giving back messages of a claim answered after its caller gave up',
        );
        for (const m of messages)
          this.release(queue, m.id, m.lease, 0).catch((error: unknown) =>
            this.logger.debug(
              { err: error, queue, id: m.id },
              'Could not give back a message of a late claim; it is redelivered when its lease ends',
            ),
          );
      },
      () => undefined,
    );
  }

  /** Learn the offset between this process's clock and Redis's from one TIME round trip. */
  private async readRedisClock(deadline: number): Promise<void> {
    const sentAt = Date.now();
    const [seconds, micros] = await this.runner.run(
      'read the Redis clock',
      (client) => client.time(),
      deadline,
    );
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    this.clock.sample(redisNow, sentAt, Date.now());
  }

  async ack(queue: string, id: string, lease: string): Promise<boolean> {
    const [done] = await this.ackMany(queue, [{ id, lease }]);
    return done!;
  }

  async ackMany(queue: string, items: readonly SettleItem[]): Promise<boolean[]> {
    const k = this.queueKeys(queue);
    const calls: Array<Promise<boolean[]>> = [];
    for (let first = 0; first < items.length; first += BATCH_CHUNK) {
      const argv = items.slice(first, first + BATCH_CHUNK).flatMap(({ id, lease }) => [id, lease]);
      const what = `ack ${argv.length / 2} message(s) of ${queue}`;
      const keys = [k.leased, k.data, k.meta, k.rate];
      calls.push(
        this.queueScript(k, 'ackMessages', what, keys, argv).then((done) =>
          (done as number[]).map((d) => d === 1),
        ),
      );
    }
    return (await Promise.all(calls)).flat();
  }

  async release(queue: string, id: string, lease: string, delayMs: number): Promise<boolean> {
    validateDelayMs(delayMs);
    const k = this.queueKeys(queue);
    const done = await this.queueScript(
      k,
      'releaseMessage',
      `release ${queue}/${id}`,
      [k.leased, k.delayed, k.meta, k.rate, k.wake],
      [id, lease, Math.max(0, Math.round(delayMs)), k.notify],
    );
    return done === 1;
  }

  async extend(queue: string, id: string, lease: string, leaseMs: number): Promise<boolean> {
    const k = this.queueKeys(queue);
    validateLeaseMs(leaseMs);
    const done = await this.queueScript(
      k,
      'extendLease',
      `extend the lease of ${queue}/${id}`,
      [k.leased, k.meta],
      [id, lease, Math.round(leaseMs)],
    );
    return done === 1;
  }

  async deadLetter(queue: string, id: string, lease: string, reason: string): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.queueScript(
      k,
      'deadLetterMessage',
      `dead-letter ${queue}/${id}`,
      [k.leased, k.meta, k.dead, k.why, k.rate],
      [id, lease, reason],
    );
    return done === 1;
  }

  async counts(queue: string): Promise<QueueCounts> {
    const k = this.queueKeys(queue);
    const [ready, delayed, leased, dead] = (await this.queueScript(
      k,
      'countMessages',
      `count ${queue}`,
      [k.ready, k.prio, k.leased, k.delayed, k.dead],
      [],
    )) as number[];
    return { ready: ready ?? 0, delayed: delayed ?? 0, leased: leased ?? 0, dead: dead ?? 0 };
  }

  async activity(queue: string): Promise<QueueActivity> {
    const k = this.queueKeys(queue);
    const [ready, delayed, leased, dead, enqueued, completed, failed, windowMs] =
      (await this.queueScript(
        k,
        'queueActivity',
        `read the activity of ${queue}`,
        [k.ready, k.prio, k.leased, k.delayed, k.dead, k.rate],
        [],
      )) as number[];
    return {
      ready: ready ?? 0,
      delayed: delayed ?? 0,
      leased: leased ?? 0,
      dead: dead ?? 0,
      enqueued: enqueued ?? 0,
      completed: completed ?? 0,
      failed: failed ?? 0,
      windowMs: windowMs ?? 0,
    };
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
    // Every queue's seq key: `{ns:q:<queue>}:seq` (no other key ends in `}:seq`, see keys.ts).
    const match = `${escapeGlob(queuePrefix)}*}:seq`;
    let cursor = '0';
    do {
      const [next, found] = await this.runner.run('list queues', (client) =>
        client.scan(cursor, 'MATCH', match, 'COUNT', 500),
      );
      cursor = next;
      for (const key of found) names.add(key.slice(queuePrefix.length, -'}:seq'.length));
    } while (cursor !== '0');
    return [...names];
  }

  async deadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    const k = this.queueKeys(queue);
    const flat = (await this.queueScript(
      k,
      'listDeadLetters',
      `list dead letters of ${queue}`,
      [k.dead, k.why, k.data, k.meta],
      [Math.max(0, Math.floor(limit))],
    )) as Array<Buffer | number>;
    const out: DeadLetter[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      // "<attempt>:<enqueuedAt>:..."; a garbage meta reads as 0.
      const [attempt, enqueuedAt] = (flat[i + 4] as Buffer).toString().split(':', 2);
      out.push({
        id: (flat[i] as Buffer).toString(),
        deadAt: flat[i + 1] as number,
        reason: (flat[i + 2] as Buffer).toString(),
        payload: flat[i + 3] as Buffer,
        attempt: Number(attempt) || 0,
        enqueuedAt: Number(enqueuedAt) || 0,
      });
    }
    return out;
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    const k = this.queueKeys(queue);
    const done = await this.queueScript(
      k,
      'removeDeadLetter',
      `remove dead letter ${queue}/${id}`,
      [k.dead, k.why, k.data, k.meta],
      [id],
    );
    return done === 1;
  }

  async retryDeadLetter(queue: string, id: string): Promise<boolean> {
    return (await this.retryDead(queue, id)) === 1;
  }

  async retryDeadLetters(queue: string): Promise<number> {
    return this.inChunks(() => this.retryDead(queue));
  }

  /** Move dead letters back (one by id, or the oldest chunk); resolves with how many. */
  private async retryDead(queue: string, id?: string): Promise<number> {
    const k = this.queueKeys(queue);
    const args: Array<string | number> = [DEAD_LETTER_CHUNK, k.notify];
    if (id !== undefined) args.push(id);
    return (await this.queueScript(
      k,
      'retryDeadLetters',
      id === undefined ? `retry dead letters of ${queue}` : `retry dead letter ${queue}/${id}`,
      [k.dead, k.why, k.delayed, k.wake],
      args,
    )) as number;
  }

  async purgeDeadLetters(queue: string): Promise<number> {
    const k = this.queueKeys(queue);
    return this.inChunks(
      () =>
        this.queueScript(
          k,
          'purgeDeadLetters',
          `purge dead letters of ${queue}`,
          [k.dead, k.why, k.data, k.meta],
          [DEAD_LETTER_CHUNK],
        ) as Promise<number>,
    );
  }

  /** Run `step` (which handles up to DEAD_LETTER_CHUNK items) until it handles fewer; the total. */
  private async inChunks(step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await step();
      total += n;
      if (n < DEAD_LETTER_CHUNK) return total;
    }
  }

  /**
   * Two steps, one per slot: unbind every pattern (the namespace's slot) so no more events feed
   * the queue, then delete the queue's keys (its own slot). Dedup keys are left to expire: the
   * queue's dedup epoch goes with its keys, so they never match again.
   */
  async deleteQueue(queue: string): Promise<void> {
    const k = this.queueKeys(queue);
    const prefix = ownedMember(queue, '');
    for (const member of [...this.boundHere])
      if (member.startsWith(prefix)) this.boundHere.delete(member);
    await this.script(
      'unbindAll',
      `unbind every pattern of ${queue}`,
      [this.keys.bindings],
      [prefix, this.keys.bindingsChannel],
    );
    await this.runner.run(`delete ${queue}`, (client) => client.unlink(...k.all));
  }

  private async bindingMembers(): Promise<Buffer[]> {
    this.assertOpen();
    return this.runner.run('list bindings', (client) => client.smembersBuffer(this.keys.bindings));
  }

  /**
   * Have every waiting claim look again now (and mark its queue as waited on again). Called
   * after the command connection came back (Redis may have restarted empty, losing the marks)
   * and once the subscriber's channels are subscribed again (wake-ups published meanwhile were
   * lost), so an idle consumer never sleeps through a message sent around a reconnect.
   */
  wakeWaiters(): void {
    if (!this.closed) this.wakeups.wakeAll();
  }

  /** Wake every waiting claim (they return what they have) and drop every wake-up subscription. */
  close(): void {
    this.closed = true;
    this.bindingWatch.close();
    this.wakeups.close();
  }

  /** Queues whose wake-up channel is subscribed (or being subscribed) now; for tests. */
  get watchedQueues(): string[] {
    return this.wakeups.watchedQueues;
  }

  /**
   * A script on one queue's keys. When Redis refuses it for a key of the wrong type (corrupt or
   * forged state), every wrong key of the queue is replaced (counted as `wrongTypeKey`) and the
   * script runs once more, so neither claimers nor producers stay stuck on it. The failed run may
   * have written part of its work (Redis does not roll scripts back); the scripts order their
   * writes so that this loses nothing a sound key held.
   */
  private async queueScript(
    k: QueueKeys,
    name: ScriptName,
    what: string,
    keys: string[],
    args: (string | Buffer | number)[],
    run: ScriptRun = {},
  ): Promise<unknown> {
    try {
      return await this.script(name, what, keys, args, run);
    } catch (error) {
      if (!isWrongKeyError(error)) throw error;
      const replaced = (await this.script(
        'repairQueueKeys',
        `repair the keys of a queue (${what})`,
        [k.ready, k.prio, k.leased, k.delayed, k.dead, k.why, k.data, k.meta, k.seq],
        [],
      )) as number;
      if (replaced === 0) throw error;
      this.faults.record('wrongTypeKey', { script: name, replaced }, error);
      return this.script(name, what, keys, args, run);
    }
  }

  private script(
    name: ScriptName,
    what: string,
    keys: string[],
    args: (string | Buffer | number)[],
    run: ScriptRun = {},
  ): Promise<unknown> {
    this.assertOpen();
    const script = this.scripts[name];
    const bytes = payloadBytes(args);
    const send = (client: Redis, caller: CommandCaller): Promise<unknown> => {
      const reply = evalScript(client, script, keys, args, caller);
      run.written?.(reply);
      return reply;
    };
    // Payloads are held against the backend's byte budget until Redis answers (or the
    // connection drops), not until the caller gives up: a frozen Redis keeps them in the client.
    return bytes === 0
      ? this.runner.run(what, send, run.deadline)
      : this.held.run(what, bytes, send, run.deadline);
  }

  private queueKeys(queue: string): QueueKeys {
    this.assertOpen();
    if (queue === '' || Buffer.byteLength(queue) > 0xffff) {
      throw new ValidationError('A queue name must be 1 to 65535 bytes long.', {
        details: { field: 'queue' },
      });
    }
    let k = this.keyCache.get(queue);
    if (k === undefined) {
      if (this.keyCache.size >= KEY_CACHE_SIZE) this.keyCache.clear();
      this.keyCache.set(queue, (k = this.keys.queue(queue)));
    }
    return k;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new BackendUnavailableError('The Redis backend of this host is closed.', {
        details: { sent: false },
      });
  }
}

/** How one script call runs. */
interface ScriptRun {
  /** Epoch ms by which the call settles (default: operationTimeout from now). */
  readonly deadline?: number;
  /** Told the reply of each write of the script, even one its caller stops waiting for. */
  readonly written?: (reply: Promise<unknown>) => void;
}

/** A random prefix of the lease tokens of one claim call (base64url: never a ':'). */
function leaseTokenPrefix(): string {
  return `${randomBytes(12).toString('base64url')}.`;
}

/**
 * `next, bad, died, now, (id, payload, attempt, enqueuedAt)...` as claim-messages-12 returns
 * it; the lease token of the i-th message is the call's prefix followed by i.
 */
function decodeClaimed(flat: Array<Buffer | number>, prefix: string): ClaimedMessage[] {
  const out: ClaimedMessage[] = [];
  for (let i = 4; i + 3 < flat.length; i += 4) {
    out.push({
      id: (flat[i] as Buffer).toString(),
      payload: flat[i + 1] as Buffer,
      attempt: flat[i + 2] as number,
      enqueuedAt: flat[i + 3] as number,
      lease: prefix + out.length,
    });
  }
  return out;
}

/** Redis refused a command for a key of the wrong type, or a counter that is not an integer. */
function isWrongKeyError(error: unknown): boolean {
  if (!isReplyError(error)) return false;
  const cause = (error as Error).cause ?? error;
  const message = cause instanceof Error ? cause.message : '';
  return message.includes('WRONGTYPE') || message.includes('not an integer');
}

/** Bytes of the payloads among a script's arguments. */
function payloadBytes(args: ReadonlyArray<string | Buffer | number>): number {
  let bytes = 0;
  for (const arg of args) if (Buffer.isBuffer(arg)) bytes += arg.length;
  return bytes;
}

/** `s` as a literal in a SCAN MATCH pattern. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
