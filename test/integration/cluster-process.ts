import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, Report } from './fixtures/cluster-node.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/cluster-node.ts', import.meta.url));

type Received = Extract<Report, { type: 'event' }>;

/** A host in a child process, driven over IPC. */
export class ClusterProcess {
  readonly received: Received[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private seq = 0;
  private exited: Promise<number | null>;

  private constructor(
    readonly nodeId: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (report: Report) => {
      if (report.type === 'event') this.received.push(report);
      else if (report.type === 'reply') {
        const waiter = this.pending.get(report.id);
        this.pending.delete(report.id);
        if (report.ok) waiter?.resolve(report.value);
        else waiter?.reject(Object.assign(new Error(report.error.message), report.error));
      }
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`node ${nodeId} exited`));
      this.pending.clear();
    });
  }

  static async start(redisUrl: string, namespace: string, nodeId: string): Promise<ClusterProcess> {
    const child = fork(FIXTURE, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        PB_REDIS_URL: redisUrl,
        PB_NAMESPACE: namespace,
        PB_NODE_ID: nodeId,
        PLUGBOARD_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced', // structured clone over IPC, so Dates stay Dates
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node ${nodeId} did not start within 15 s`)),
        15_000,
      );
      child.on('message', (report: Report) => {
        if (report.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`node ${nodeId} exited with ${code} while starting`)),
      );
    });
    return new ClusterProcess(nodeId, child);
  }

  /** Run a command in the node; rejects with the node's error (name, code, message kept). */
  run<T = unknown>(command: Command, ms = 10_000): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node ${this.nodeId}: ${command.cmd} got no reply within ${ms} ms`)),
        ms,
      );
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ id, command });
    });
  }

  tagged(tag: string): Received[] {
    return this.received.filter((r) => r.tag === tag);
  }

  /** kill -9 */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.run({ cmd: 'stop' }, 10_000).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
