import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bounded } from '../faults-lock/lock-process.js';
import type {
  AppliedEvent,
  LogView,
  PhaseEvent,
  ReleaseAction,
  TxNodeCommand,
  TxNodeConfig,
  TxNodeReport,
  TxSpec,
} from './fixtures/tx-node.js';

export { bounded };

const FIXTURE = fileURLToPath(new URL('./fixtures/tx-node.ts', import.meta.url));

export type TxEvent = PhaseEvent | AppliedEvent;

/** What the coordinating caller printed: the ids it began, and how each `commit()` settled. */
export interface CallerLines {
  readonly begun: string[];
  readonly committed: string[];
  readonly aborted: string[];
  /** `commit()` rejected with something other than `TransactionAbortedError`. */
  readonly failed: string[];
}

/**
 * A host of the crash tests in a child process (fixtures/tx-node.ts), driven over IPC. Every
 * phase event the child sends is kept in `events` (bounded by the transactions a test runs);
 * stdout lines of its caller are parsed into `lines`.
 */
export class TxProcess {
  private readonly replies = new Map<number, (report: TxNodeReport & { type: 'reply' }) => void>();
  private readonly listeners = new Set<(event: TxEvent) => void>();
  readonly events: TxEvent[] = [];
  readonly lines: CallerLines = { begun: [], committed: [], aborted: [], failed: [] };
  private nextId = 0;
  private stdoutRest = '';
  readonly gone: Promise<void>;
  /** When the child was seen to exit (Date.now()). */
  exitedAt: number | undefined;

  private constructor(
    readonly nodeId: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (report: TxNodeReport) => {
      if (report.type === 'ready' || report.type === 'warm') return;
      if (report.type === 'reply') {
        this.replies.get(report.id)?.(report);
        this.replies.delete(report.id);
        return;
      }
      this.events.push(report);
      for (const listener of this.listeners) listener(report);
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.parse(chunk));
    this.gone = new Promise((resolve) =>
      child.once('exit', () => {
        this.exitedAt = Date.now();
        resolve();
      }),
    );
  }

  private parse(chunk: string): void {
    const text = this.stdoutRest + chunk;
    const lines = text.split('\n');
    this.stdoutRest = lines.pop()!;
    for (const line of lines) {
      const [word, id] = line.split(' ');
      if (id === undefined) continue;
      if (word === 'begin') this.lines.begun.push(id);
      else if (word === 'committed') this.lines.committed.push(id);
      else if (word === 'aborted') this.lines.aborted.push(id);
      else if (word === 'failed') this.lines.failed.push(line);
    }
  }

  /**
   * Start a node on `config`: take a warm spare (see {@link SparePool}) or fork one, and wait
   * until its host started and its resources are reachable (bounded: 30 s on a loaded machine).
   * Events it sends while starting (recovery reaching its resources) are kept too.
   */
  static async start(config: TxNodeConfig, pool?: SparePool): Promise<TxProcess> {
    const child = await (pool?.take() ?? forkSpare().warm);
    const node = new TxProcess(config.nodeId, child);
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (report: TxNodeReport) => report.type === 'ready' && resolve());
      void node.gone.then(() => reject(new Error(`${config.nodeId} exited while starting`)));
    });
    child.send({ config });
    await bounded(ready, 30_000, `${config.nodeId} ready`).catch((error: Error) => {
      child.kill('SIGKILL');
      throw error;
    });
    return node;
  }

  /** Run a command; rejects with the child's error (name and code kept) or after `ms`. */
  run<T = unknown>(command: TxNodeCommand, ms = 30_000): Promise<T> {
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

  /**
   * Start a run of transactions in the child. The returned promise settles when they all did,
   * or rejects when the process dies first (never unhandled: callers that kill it may ignore it).
   */
  startRun(txs: readonly TxSpec[], parallel = 1, ms = 60_000): Promise<unknown> {
    const running = this.run({ cmd: 'run', txs, parallel }, ms);
    running.catch(() => undefined);
    return running;
  }

  private readonly released = new Set<number>();

  /** Let a held phase go on (a token is released once; again is a no-op). */
  release(token: number, action: ReleaseAction = 'go'): Promise<boolean> {
    if (this.released.has(token)) return Promise.resolve(false);
    this.released.add(token);
    return this.run<boolean>({ cmd: 'release', token, action });
  }

  /** Phases held in this process now (seen held, not released by the parent). */
  held(): PhaseEvent[] {
    return this.events.filter(
      (event): event is PhaseEvent =>
        event.type === 'phase' && event.token !== undefined && !this.released.has(event.token),
    );
  }

  /** Release every phase held now with `action`. */
  async releaseAll(action: ReleaseAction): Promise<number> {
    const held = this.held();
    await Promise.all(held.map((event) => this.release(event.token!, action)));
    return held.length;
  }

  inspect(ids: readonly string[]): Promise<Record<string, LogView | null>> {
    return this.run({ cmd: 'inspect', ids });
  }

  /** Drop the events seen so far (none may be held): later waits see only new ones. */
  forget(): void {
    if (this.held().length > 0) throw new Error(`${this.nodeId}: forget() while phases are held`);
    this.events.length = 0;
  }

  /** Be told of every later event; returns a function that removes the listener. */
  listen(listener: (event: TxEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first event (already seen or later) that `match` accepts (bounded). */
  waitFor<E extends TxEvent>(
    match: (event: TxEvent) => event is E,
    what: string,
    ms?: number,
  ): Promise<E>;
  waitFor(match: (event: TxEvent) => boolean, what: string, ms?: number): Promise<TxEvent>;
  waitFor(match: (event: TxEvent) => boolean, what: string, ms = 20_000): Promise<TxEvent> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    let stop = (): void => undefined;
    const found = new Promise<TxEvent>((resolve, reject) => {
      stop = this.listen((event) => match(event) && resolve(event));
      void this.gone.then(() => reject(new Error(`${this.nodeId} exited waiting for ${what}`)));
    });
    return bounded(found, ms, `${this.nodeId}: ${what}`).finally(stop);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9: no stop, no last write; whatever was held stays unanswered. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.gone;
  }

  /** Stop the host gracefully (bounded), then make sure the process is gone. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    await this.run({ cmd: 'stop' }, 20_000).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.gone;
    clearTimeout(timer);
  }
}

/** A node process loading its modules; `warm` resolves once it waits for its config. */
interface Spare {
  readonly child: ChildProcess;
  readonly warm: Promise<ChildProcess>;
}

/** Fork a node process that loads its modules and waits (bounded: 30 s). */
function forkSpare(): Spare {
  const child = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const warm = new Promise<ChildProcess>((resolve, reject) => {
    child.on('message', (report: TxNodeReport) => report.type === 'warm' && resolve(child));
    child.once('exit', (code) =>
      reject(new Error(`a spare node exited with ${code} while loading`)),
    );
  });
  const bound = bounded(warm, 30_000, 'spare node loaded').catch((error: Error) => {
    child.kill('SIGKILL');
    throw error;
  });
  bound.catch(() => undefined);
  return { child, warm: bound };
}

/**
 * Node processes that loaded their modules and wait for a config: a restart takes one, so the
 * time from a kill to the new process running is the host's start, not the seconds of loading
 * TypeScript modules. Keeps `size` spares loading or warm; `close()` ends them.
 */
export class SparePool {
  private readonly spares: Spare[] = [];
  private closed = false;

  constructor(private readonly size = 1) {
    this.refill();
  }

  /** Start loading spares up to the pool's size. */
  refill(): void {
    while (!this.closed && this.spares.length < this.size) this.spares.push(forkSpare());
  }

  /** A warm process (waits for one still loading; forks one if none is left); refills. */
  take(): Promise<ChildProcess> {
    const spare = this.spares.shift() ?? forkSpare();
    this.refill();
    return spare.warm;
  }

  /** Resolves once every spare has loaded (a test awaits it so a restart is the host's start only). */
  async warm(): Promise<void> {
    await Promise.all(this.spares.map((spare) => spare.warm));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.spares.splice(0).map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  }
}

/** A matcher of events of one `type` for `resource` in `phase` (optionally of one transaction). */
const eventOf =
  <E extends TxEvent>(type: E['type']) =>
  (resource: string, phase: PhaseEvent['phase'], tx?: string) =>
  (event: TxEvent): event is E =>
    event.type === type &&
    event.resource === resource &&
    event.phase === phase &&
    (tx === undefined || event.tx === tx);

/** `resource` entered `phase`, or is about to answer it (held or not). */
export const entered = eventOf<PhaseEvent>('phase');

/** `resource` finished `phase` (its ledger written). */
export const applied = eventOf<AppliedEvent>('applied');
