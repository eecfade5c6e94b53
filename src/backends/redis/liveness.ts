import type { Logger } from 'pino';

/** What the liveness loop drives. */
export interface LivenessTasks {
  /** Refresh this node's liveness deadline (and rejoin if Redis forgot it). */
  heartbeat(): Promise<unknown>;
  /** Remove nodes whose liveness lapsed. */
  reap(): Promise<unknown>;
}

/**
 * Proves this node alive every `ttl / 3` and reaps dead nodes every `min(ttl / 5, 1 s)`, each
 * with ±10 % jitter. There are no heartbeats between nodes: each node only refreshes its own
 * deadline in Redis, and any node may remove the ones that lapsed, so a crash is noticed within
 * about `ttl` plus one reap interval.
 */
export class Liveness {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reapTimer: NodeJS.Timeout | undefined;
  private running = false;
  private failing = false;
  /** Tasks still running: a round is skipped rather than overlap the previous one. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly tasks: LivenessTasks,
    private readonly ttl: number,
    private readonly logger: Logger,
    /** Skip rounds while disconnected: they would only fill the offline buffer. */
    private readonly connected: () => boolean,
  ) {}

  /** Start both loops (the first heartbeat is the caller's, at join). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleHeartbeat();
    this.scheduleReap();
  }

  /** Heartbeat now, e.g. right after a reconnect, when Redis may have lost everything. */
  beatNow(): void {
    if (!this.running) return;
    this.run('heartbeat', () => this.tasks.heartbeat());
  }

  /** Stop both loops. */
  stop(): void {
    this.running = false;
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.reapTimer);
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = setTimeout(
      () => {
        this.run('heartbeat', () => this.tasks.heartbeat());
        if (this.running) this.scheduleHeartbeat();
      },
      jitter(this.ttl / 3),
    );
    this.heartbeatTimer.unref();
  }

  private scheduleReap(): void {
    this.reapTimer = setTimeout(
      () => {
        this.run('reap', () => this.tasks.reap());
        if (this.running) this.scheduleReap();
      },
      jitter(Math.min(this.ttl / 5, 1000)),
    );
    this.reapTimer.unref();
  }

  private run(what: string, task: () => Promise<unknown>): void {
    if (!this.connected() || this.busy.has(what)) return;
    this.busy.add(what);
    task()
      .finally(() => this.busy.delete(what))
      .then(
        () => {
          if (this.failing) this.logger.info(`Redis liveness ${what} works again`);
          this.failing = false;
        },
        (error: unknown) => {
          if (!this.running) return;
          // Expected while Redis is away; say it once per outage.
          if (!this.failing)
            this.logger.warn({ err: error }, `Redis liveness ${what} failed; retrying`);
          this.failing = true;
        },
      );
  }
}

function jitter(ms: number): number {
  return Math.max(10, Math.round(ms * (0.9 + Math.random() * 0.2)));
}
