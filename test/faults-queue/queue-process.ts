import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { QueueNodeCommand, QueueNodeConfig, QueueNodeReport } from './fixtures/queue-node.js';
import { tallyKeys } from './fixtures/tally.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/queue-node.ts', import.meta.url));

/** A queue worker host in a child process (fixtures/queue-node.ts), driven over IPC. */
export class QueueProcess {
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private seq = 0;
  private readonly exited: Promise<void>;

  private constructor(
    readonly nodeId: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (report: QueueNodeReport) => {
      if (report.type !== 'reply') return;
      const waiter = this.pending.get(report.id);
      this.pending.delete(report.id);
      if (report.ok) waiter?.resolve(report.value);
      else waiter?.reject(Object.assign(new Error(report.error.message), report.error));
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${nodeId} exited`));
      this.pending.clear();
    });
  }

  /** Fork a worker and wait until its host has started (bounded: 30 s on a loaded machine). */
  static async start(config: QueueNodeConfig): Promise<QueueProcess> {
    const child = fork(FIXTURE, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PB_QUEUE_NODE: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${config.nodeId} did not start within 30 s`));
      }, 30_000);
      child.on('message', (report: QueueNodeReport) => {
        if (report.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${config.nodeId} exited with ${code} while starting`));
      });
    });
    return new QueueProcess(config.nodeId, child);
  }

  /** Run a command in the worker; rejects with the worker's error (name, code, message kept). */
  run<T = unknown>(command: QueueNodeCommand, ms = 60_000): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.nodeId}: ${command.cmd} got no reply within ${ms} ms`)),
        ms,
      );
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ id, command });
    });
  }

  /** Resolves when the process has exited, whatever the cause. */
  get gone(): Promise<void> {
    return this.exited;
  }

  /** kill -9: no `stop`, no acks sent, leases left to lapse. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Stop the host gracefully (bounded), then make sure the process is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.run({ cmd: 'stop' }, 20_000).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Reads what the worker processes recorded (see fixtures/tally.ts). */
export class Tally {
  private readonly keys: ReturnType<typeof tallyKeys>;
  constructor(
    private readonly redis: Redis,
    readonly name: string,
  ) {
    this.keys = tallyKeys(name);
  }

  /** How many distinct messages were finished at least once. */
  distinct(): Promise<number> {
    return this.redis.hlen(this.keys.done);
  }

  /** How many messages one node finished. */
  async by(nodeId: string): Promise<number> {
    return Number((await this.redis.get(this.keys.by(nodeId))) ?? 0);
  }

  /** Every finished seq with its count. */
  async counts(): Promise<Map<number, number>> {
    const flat = await this.redis.hgetall(this.keys.done);
    return new Map(Object.entries(flat).map(([seq, n]) => [Number(seq), Number(n)]));
  }

  /** Seqs finished on a later attempt (redelivered). */
  async redelivered(): Promise<number> {
    return this.redis.scard(this.keys.redelivered);
  }
}

/** Lost and duplicated messages of the seqs `0 .. total - 1`, from a tally's counts. */
export function lossAndDuplicates(
  counts: ReadonlyMap<number, number>,
  total: number,
): { lost: number; duplicates: number; processed: number; twiceOrMore: number } {
  let lost = 0;
  let duplicates = 0;
  let processed = 0;
  let twiceOrMore = 0;
  for (let seq = 0; seq < total; seq++) {
    const n = counts.get(seq) ?? 0;
    if (n === 0) lost++;
    else processed++;
    if (n > 1) twiceOrMore++;
    duplicates += Math.max(0, n - 1);
  }
  return { lost, duplicates, processed, twiceOrMore };
}
