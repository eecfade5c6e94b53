import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, Reply } from './fixtures/cache-node.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/cache-node.ts', import.meta.url));

/** A host with a tiered cache in a child process, driven over IPC. */
export class CacheProcess {
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private seq = 0;
  private readonly exited: Promise<void>;

  private constructor(
    readonly nodeId: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (reply: Reply) => {
      if (reply.type !== 'reply') return;
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const settle of this.pending.values())
        settle({
          type: 'reply',
          id: 0,
          ok: false,
          error: { name: 'Error', message: `${nodeId} exited` },
        });
      this.pending.clear();
    });
  }

  static async start(url: string, namespace: string, nodeId: string): Promise<CacheProcess> {
    const child = fork(FIXTURE, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        PB_REDIS_URL: url,
        PB_NAMESPACE: namespace,
        PB_NODE_ID: nodeId,
        PLUGBOARD_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      // Bounded, generously: tsx compiles the fixture on a possibly loaded machine.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${nodeId} did not start within 30 s`));
      }, 30_000);
      child.on('message', (reply: Reply) => {
        if (reply.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${nodeId} exited with ${code} while starting`));
      });
    });
    return new CacheProcess(nodeId, child);
  }

  /** Run a command in the process; rejects with its error message. */
  run<T>(command: Command, ms = 15_000): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.nodeId}: ${command.cmd} timed out`)),
        ms,
      );
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.type === 'reply' && reply.ok) resolve(reply.value as T);
        else if (reply.type === 'reply' && !reply.ok) reject(new Error(reply.error.message));
      });
      this.child.send({ id, command });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.run({ cmd: 'stop' }, 10_000).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
