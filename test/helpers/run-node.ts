import { spawn } from 'node:child_process';

/** How a child process ended and what it wrote. */
export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `node <args>` in `cwd` and collect its output; SIGKILL it past `killAfterMs` (a hung child
 * fails the test on its exit code instead of hanging it). `env` is the whole environment.
 */
export function runNode(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; killAfterMs: number },
): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}
