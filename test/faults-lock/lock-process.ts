import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  HeldInfo,
  LockNodeCommand,
  LockNodeConfig,
  LockNodeReport,
} from './fixtures/lock-node.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/lock-node.ts', import.meta.url));

/** A report a lock process sends on its own (not a reply to a command). */
export type LockEvent = Exclude<LockNodeReport, { type: 'ready' } | { type: 'reply' }>;

/** A lock client host in a child process (fixtures/lock-node.ts), driven over IPC. */
export class LockProcess {
  private readonly replies = new Map<
    number,
    (report: LockNodeReport & { type: 'reply' }) => void
  >();
  private readonly listeners = new Set<(event: LockEvent) => void>();
  /** Every event this process sent, in arrival order (bounded by what a test asks it to do). */
  readonly events: LockEvent[] = [];
  private nextId = 0;
  readonly gone: Promise<void>;

  private constructor(
    readonly nodeId: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (report: LockNodeReport) => {
      if (report.type === 'ready') return;
      if (report.type === 'reply') {
        this.replies.get(report.id)?.(report);
        this.replies.delete(report.id);
        return;
      }
      this.events.push(report);
      for (const listener of this.listeners) listener(report);
    });
    this.gone = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Fork a lock client and wait until its host has started (bounded: 30 s on a loaded machine). */
  static async start(config: LockNodeConfig): Promise<LockProcess> {
    const child = fork(FIXTURE, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PB_LOCK_NODE: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (report: LockNodeReport) => report.type === 'ready' && resolve());
      child.once('exit', (code) =>
        reject(new Error(`${config.nodeId} exited with ${code} while starting`)),
      );
    });
    await bounded(ready, 30_000, `${config.nodeId} to start`).catch((error: Error) => {
      child.kill('SIGKILL');
      throw error;
    });
    return new LockProcess(config.nodeId, child);
  }

  /** Run a command; rejects with the child's error (name and code kept) or after `ms`. */
  run<T = unknown>(command: LockNodeCommand, ms = 30_000): Promise<T> {
    const id = ++this.nextId;
    const reply = new Promise<T>((resolve, reject) => {
      this.replies.set(id, (report) => {
        if (report.ok) resolve(report.value as T);
        else reject(Object.assign(new Error(report.error.message), report.error));
      });
      void this.gone.then(() => reject(new Error(`${this.nodeId} exited during ${command.cmd}`)));
    });
    this.child.send({ id, command });
    return bounded(reply, ms, `${this.nodeId}: reply to ${command.cmd}`);
  }

  /** Acquire `resource` in the child and keep the lock there as `id` (see the `hold` command). */
  hold(
    id: string,
    resource: string,
    options: Omit<Extract<LockNodeCommand, { cmd: 'hold' }>, 'cmd' | 'id' | 'resource'>,
    ms?: number,
  ): Promise<HeldInfo> {
    return this.run<HeldInfo>({ cmd: 'hold', id, resource, ...options }, ms);
  }

  /** The first event (already sent or still to come) that `match` accepts, within `ms`. */
  next<E extends LockEvent>(
    match: (event: LockEvent) => event is E,
    ms: number,
    what: string,
  ): Promise<E>;
  next(match: (event: LockEvent) => boolean, ms: number, what: string): Promise<LockEvent>;
  next(match: (event: LockEvent) => boolean, ms: number, what: string): Promise<LockEvent> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    let listener: ((event: LockEvent) => void) | undefined;
    const found = new Promise<LockEvent>((resolve) => {
      listener = (event) => match(event) && resolve(event);
      this.listeners.add(listener);
    });
    return bounded(found, ms, `${this.nodeId}: ${what}`).finally(() =>
      this.listeners.delete(listener!),
    );
  }

  /** Listen to every event from now on; returns the unsubscribe function. */
  onEvent(listener: (event: LockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Freeze the process (SIGSTOP): its timers, sockets and IPC all stop until {@link resume}. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** kill -9: no release, no stop; its locks stay in Redis until their TTL runs out. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.gone;
  }

  /** Stop the host gracefully (bounded), then make sure the process is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.resume();
    await this.run({ cmd: 'stop' }, 15_000).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.gone;
    clearTimeout(timer);
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Whether `event` is a lost-lock report of lock `id` through `via`. */
export const lostVia =
  (id: string, via: 'onLost' | 'signal') =>
  (event: LockEvent): event is LockEvent & { type: 'lost' } =>
    event.type === 'lost' && event.id === id && event.via === via;
