import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway redis-server for fault tests (restart, freeze, kill). */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Pid of the current server process (changes on restart). */
  readonly pid: number;
  /** Stop the server and remove its directory. Idempotent. */
  stop(): Promise<void>;
  /** Stop and start again on the same port (empty: no persistence). */
  restart(): Promise<void>;
  /** Freeze the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaw a paused server (SIGCONT). */
  resume(): void;
  /** Kill the server hard (SIGKILL) without restarting it. */
  kill(): Promise<void>;
}

/** Path of the redis-server binary; override with REDIS_SERVER_BIN. */
const BINARY = process.env['REDIS_SERVER_BIN'] ?? '/usr/bin/redis-server';
const live = new Set<RedisServer>();

// Never leave a server behind, even if a test forgets stop() or the runner exits early.
process.once('exit', () => {
  for (const server of live) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Start a throwaway `redis-server` on a free port in a temp dir, without persistence.
 * @example
 * const server = await startRedisServer();
 * after(() => server.stop());
 */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-redis-'));
  const port = await freePort();
  let child: ChildProcess = await launch(port, dir, extraArgs);
  let stopped = false;
  const exited = (proc: ChildProcess): Promise<void> =>
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => proc.once('exit', () => resolve()));
  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGCONT');
    proc.kill(signal);
    await withTimeout(exited(proc), 5000, 'redis-server did not exit');
  };
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(server);
      await terminate('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await terminate('SIGKILL');
      child = await launch(port, dir, extraArgs);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async kill() {
      await terminate('SIGKILL');
    },
  };
  live.add(server);
  return server;
}

async function launch(port: number, dir: string, extraArgs: string[]): Promise<ChildProcess> {
  const child = spawn(
    BINARY,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited early with code ${String(code)}`)),
    );
  });
  failed.catch(() => undefined);
  await withTimeout(
    Promise.race([waitForPort(port), failed]),
    5000,
    `redis-server did not listen on ${port}`,
  );
  return child;
}

async function waitForPort(port: number): Promise<void> {
  const giveUp = Date.now() + 5000;
  while (Date.now() < giveUp) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Nothing listens on port ${port}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
