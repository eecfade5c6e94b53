import type { Logger } from 'pino';
import { BackendUnavailableError, ValidationError } from '../../errors/errors.js';
import type { ClaimedMessage, ClaimOptions, QueueCounts, QueueStore } from '../ports.js';
import type { CommandRunner } from './connection.js';
import { ownedMember, type QueueKeys, type RedisKeys } from './keys.js';
import { evalScript, type LuaScript, type ScriptName } from './scripts.js';
import type { SubscriptionHub } from './subscriptions.js';

/** Someone waiting in `claim` for work on one queue. */
interface Waiter {
  notified: boolean;
  wake?: () => void;
}

interface QueueWatch {
  readonly waiters: Set<Waiter>;
  /** Resolves once the wake-up channel is subscribed. */
  readonly ready: Promise<void>;
  close?: () => Promise<void>;
}

/**
 * The queue port over Redis: per queue a LIST of new ids, ZSETs of leased and delayed ids
 * scored by time (Redis TIME), a HASH of payloads and one of attempt counters, a ZSET and HASH
 * of dead letters; every transition is one script. Claimers never block a connection: a claim
 * that finds nothing waits for a wake-up on the queue's channel (published by enqueue and
 * release), for the earliest lease or delay to end, or for `waitMs`, whichever comes first.
 * Messages live as long as Redis keeps data (configure persistence for durability).
 */
export class RedisQueueStore implements QueueStore {
  private readonly watches = new Map<string, QueueWatch>();
  private closed = false;

  constructor(
    private readonly keys: RedisKeys,
    private readonly runner: CommandRunner,
    private readonly hub: SubscriptionHub,
    private readonly scripts: Record<ScriptName, LuaScript>,
    private readonly logger: Logger,
  ) {}

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
    const watch = options.waitMs > 0 ? this.watch(queue, k) : undefined;
    if (watch !== undefined) await watch.ready;
    const waiter: Waiter = { notified: false };
    watch?.waiters.add(waiter);
    try {
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
        await this.sleep(waiter, Math.min(deadline, next > 0 ? next : Infinity), options.signal);
      }
    } finally {
      watch?.waiters.delete(waiter);
    }
  }

  async ack(queue: string, id: string): Promise<void> {
    const k = this.queueKeys(queue);
    await this.script(
      'ackMessage',
      `ack ${queue}/${id}`,
      [k.leased, k.delayed, k.data, k.meta],
      [id],
    );
  }

  async release(queue: string, id: string, delayMs: number): Promise<void> {
    const k = this.queueKeys(queue);
    await this.script(
      'releaseMessage',
      `release ${queue}/${id}`,
      [k.leased, k.delayed],
      [id, Math.max(0, Math.round(delayMs)), k.notify],
    );
  }

  async deadLetter(queue: string, id: string, reason: string): Promise<void> {
    const k = this.queueKeys(queue);
    await this.script(
      'deadLetterMessage',
      `dead-letter ${queue}/${id}`,
      [k.leased, k.delayed, k.dead, k.why],
      [id, reason],
    );
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
    await this.runner.run(`bind ${queue}`, (client) =>
      client.sadd(this.keys.bindings, ownedMember(queue, pattern)),
    );
  }

  async unbind(queue: string, pattern: string): Promise<void> {
    this.queueKeys(queue);
    await this.runner.run(`unbind ${queue}`, (client) =>
      client.srem(this.keys.bindings, ownedMember(queue, pattern)),
    );
  }

  async bindings(): Promise<Array<{ queue: string; pattern: string }>> {
    this.assertOpen();
    const members = await this.runner.run('list bindings', (client) =>
      client.smembersBuffer(this.keys.bindings),
    );
    return members.map(decodeBinding);
  }

  /** Wake every waiting claim (they return what they have) and stop listening. */
  close(): void {
    this.closed = true;
    for (const watch of this.watches.values()) {
      for (const waiter of watch.waiters) waiter.wake?.();
    }
    this.watches.clear();
  }

  private watch(queue: string, k: QueueKeys): QueueWatch {
    let watch = this.watches.get(queue);
    if (watch !== undefined) return watch;
    const waiters = new Set<Waiter>();
    const ready = this.hub
      .add(k.notify, () => {
        for (const waiter of waiters) {
          waiter.notified = true;
          waiter.wake?.();
        }
      })
      .then((close) => {
        created.close = close;
      });
    const created: QueueWatch = { waiters, ready };
    // A failed subscribe is retried by the next claim.
    ready.catch((error: unknown) => {
      if (this.watches.get(queue) === created) this.watches.delete(queue);
      this.logger.debug({ err: error, queue }, 'Could not subscribe to queue wake-ups');
    });
    this.watches.set(queue, created);
    watch = created;
    return watch;
  }

  private sleep(waiter: Waiter, until: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiter.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - Date.now()));
      waiter.wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private script(
    name: ScriptName,
    what: string,
    keys: string[],
    args: (string | Buffer | number)[],
  ): Promise<unknown> {
    this.assertOpen();
    const script = this.scripts[name];
    return this.runner.run(what, (client) => evalScript(client, script, keys, args));
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

function decodeClaimed(flat: Array<Buffer | number>): ClaimedMessage[] {
  const out: ClaimedMessage[] = [];
  for (let i = 1; i + 3 < flat.length; i += 4) {
    const payload = flat[i + 1] as Buffer;
    out.push({
      id: (flat[i] as Buffer).toString(),
      payload,
      attempt: flat[i + 2] as number,
      enqueuedAt: flat[i + 3] as number,
    });
  }
  return out;
}

function decodeBinding(member: Buffer): { queue: string; pattern: string } {
  const colon = member.indexOf(0x3a);
  const length = Number(member.toString('latin1', 0, colon));
  return {
    queue: member.toString('utf8', colon + 1, colon + 1 + length),
    pattern: member.toString('utf8', colon + 1 + length),
  };
}
