import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WatcherConfig } from './fixtures/watcher-node.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/watcher-node.ts', import.meta.url));

/** A durable watcher in a child process (fixtures/watcher-node.ts). */
export class WatcherProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly gone: Promise<void>,
  ) {}

  /** Fork a watcher and wait until its watch is in effect (bounded: 30 s). */
  static async start(config: WatcherConfig): Promise<WatcherProcess> {
    const child = fork(FIXTURE, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PB_SYNC_WATCHER: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the watcher did not start within 30 s'));
      }, 30_000);
      child.on('message', (m: { type?: string }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      void gone.then(() => {
        clearTimeout(timer);
        reject(new Error('the watcher exited while starting'));
      });
    });
    return new WatcherProcess(child, gone);
  }

  /** SIGKILL: no cleanup, no last cursor save. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.gone;
  }

  /** Graceful: the host stops (the cursor is saved), then the process exits. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.gone;
    clearTimeout(timer);
  }
}

/** `<seq>:<id>` records → seqs, in the order they were handled. */
export const seqsOf = (records: string[]): number[] => records.map((r) => Number(r.split(':')[0]));
