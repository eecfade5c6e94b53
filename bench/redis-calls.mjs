// Where a Redis variant's time goes, seen from the server: runs variants of a scenario once each
// against a throwaway redis-server (a free port, no persistence, nobody else's traffic) and
// prints per message handled: commands by name, server CPU µs (commandstats), and read events
// (`total_reads_processed`: about one per client round trip, a pipelined burst counting once).
// Usage: node bench/redis-calls.mjs <scenario> <variant>...
// Example: BENCH_QUEUE_N=5000 node bench/redis-calls.mjs queue-throughput ours-c1 bull-c1
import { execFile, spawn } from 'node:child_process';
import console from 'node:console';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { URL, fileURLToPath } from 'node:url';
import { RESULT_PREFIX } from './lib/scenarios.mjs';

const [scenario, ...variants] = process.argv.slice(2);
if (!variants.length) throw new Error('usage: node bench/redis-calls.mjs <scenario> <variant>...');
const CHILD = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const BINARY = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'pbbench-redis-'));
  const port = await freePort();
  const child = spawn(
    BINARY,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdio: 'ignore' },
  );
  process.once('exit', () => child.kill('SIGKILL'));
  const { default: Redis } = await import('ioredis');
  const redis = new Redis({ port, lazyConnect: true, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  const end = Date.now() + 5000;
  for (;;) {
    try {
      await redis.connect();
      break;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    redis,
    stop() {
      redis.disconnect();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** INFO section as { key: value } (commandstats values stay strings: `calls=..,usec=..`). */
async function info(redis, section) {
  const text = await redis.info(section);
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

function runChild(url, variant) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CHILD, scenario, variant],
      {
        timeout: 300_000,
        maxBuffer: 16 << 20,
        env: { PLUGBOARD_LOG_LEVEL: 'warn', ...process.env, BENCH_REDIS_URL: url },
      },
      (err, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
        resolve(
          line
            ? JSON.parse(line.slice(RESULT_PREFIX.length))
            : { error: `${err?.message}\n${stderr.slice(-2000)}` },
        );
      },
    );
  });
}

/**
 * Per script, from the slow log (every command logged: slowlog-log-slower-than 0): calls and
 * server time. A script is named by its sha, key count and first key's last segment (e.g.
 * `ab12cd34 10 keys …:seq`), enough to tell which one it is.
 */
function scriptRows(entries) {
  const by = new Map();
  for (const [, , usec, args] of entries) {
    const cmd = String(args[0]).toLowerCase();
    if (cmd !== 'evalsha' && cmd !== 'eval') continue;
    const sha = cmd === 'eval' ? 'eval' : String(args[1]).slice(0, 8);
    const first = String(args[3] ?? '');
    const name = `${sha} ${args[2]} keys …${first.slice(first.lastIndexOf(':'))}`;
    const row = by.get(name) ?? { name, calls: 0, usec: 0, all: [] };
    row.calls++;
    row.usec += usec;
    row.all.push(usec);
    by.set(name, row);
  }
  return [...by.values()]
    .map((r) => ({ ...r, median: r.all.sort((a, b) => a - b)[r.all.length >> 1] }))
    .sort((a, b) => b.usec - a.usec);
}

const server = await startServer();
await server.redis.config('SET', 'slowlog-log-slower-than', '0');
await server.redis.config('SET', 'slowlog-max-len', '200000');
try {
  for (const variant of variants) {
    await server.redis.config('RESETSTAT');
    await server.redis.slowlog('RESET');
    const cpu0 = await info(server.redis, 'cpu');
    const r = await runChild(server.url, variant);
    const cpu1 = await info(server.redis, 'cpu');
    const stats = await info(server.redis, 'stats');
    const commands = await info(server.redis, 'commandstats');
    const slow = await server.redis.slowlog('GET', -1);
    if (r.error) {
      console.log(`${variant}: ERROR ${r.error}`);
      continue;
    }
    // Workloads count messages handled; timed runs, every operation they made.
    const handled = r.handled ?? r.totalOps;
    const per = (x) => (x / handled).toFixed(2);
    const cpuMs =
      (Number(cpu1.used_cpu_user) +
        Number(cpu1.used_cpu_sys) -
        Number(cpu0.used_cpu_user) -
        Number(cpu0.used_cpu_sys)) *
      1e3;
    console.log(
      `\n${variant}: ${handled} messages handled${r.invalid ? ` (INVALID: ${r.invalid})` : ''}; ` +
        `metrics ${JSON.stringify(r.metrics, (k, v) => (typeof v === 'number' ? Math.round(v) : v))}`,
    );
    console.log(
      `  per message: ${per(Number(stats.total_commands_processed))} commands, ` +
        `${per(Number(stats.total_reads_processed))} read events (≈ round trips), ` +
        `${((cpuMs * 1e3) / handled).toFixed(1)} µs Redis CPU`,
    );
    const rows = Object.entries(commands)
      .map(([name, v]) => {
        const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=')));
        return { name: name.replace('cmdstat_', ''), calls: Number(f.calls), usec: Number(f.usec) };
      })
      .filter((c) => !['config', 'info'].includes(c.name))
      .sort((a, b) => b.usec - a.usec);
    for (const c of rows.slice(0, 12)) {
      console.log(
        `  ${c.name.padEnd(16)} ${per(c.calls).padStart(7)} calls/msg ` +
          `${(c.usec / handled).toFixed(1).padStart(7)} µs/msg  (${c.calls} calls)`,
      );
    }
    console.log('  scripts (slowlog: each call, timed by the server):');
    for (const s of scriptRows(slow)) {
      console.log(
        `  ${s.name.padEnd(44)} ${per(s.calls).padStart(7)} calls/msg ` +
          `${(s.usec / s.calls).toFixed(1).padStart(7)} µs/call (median ${s.median} µs)`,
      );
    }
  }
} finally {
  server.stop();
}
