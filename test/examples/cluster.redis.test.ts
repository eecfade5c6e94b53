/**
 * The cluster example (examples/cluster) as `npm run start:cluster` runs it: three CLI
 * processes (worker-a, worker-b, gateway) on one throwaway redis-server, started by
 * scripts/start-cluster.mjs (from source, through tsx). Checks what the narration claims: each
 * order charged once, charges balanced over both workers, each order fulfilled once, every
 * worker seeing every broadcast and the whole change feed, the shared cache read across
 * processes, clean exits, and no keys left behind. The --kill-one run checks
 * RPC failover and the redelivery of the order the killed worker held. The example shop, which
 * shows every building block, plays its story on the same Redis too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { runNode } from '../helpers/run-node.js';
import { figure } from '../backends/redis/support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ORDERS = Array.from({ length: 8 }, (_, i) => `o-${i + 1}`);
const WORKERS = ['worker-a', 'worker-b'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout lines as [prefix node, rest of the line]. */
  lines: Array<[string, string]>;
  /** For each mark, ms from the start until stdout first matched it (reported, never asserted). */
  at: Record<string, number>;
}

/**
 * Run the script; past `ms`, SIGTERM it (it stops its children), then SIGKILL it. Notes when
 * stdout first matches each of `marks`.
 */
function runScript(args: string[], ms: number, marks: Record<string, RegExp> = {}): Promise<Run> {
  const startedAt = Date.now();
  const at: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/start-cluster.mjs', '--from-source', ...args], {
      cwd: ROOT,
      env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    }, ms);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const [name, pattern] of Object.entries(marks))
        if (at[name] === undefined && pattern.test(stdout)) at[name] = Date.now() - startedAt;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const lines = stdout
        .split('\n')
        .map((line) => /^(\S+)\s+│ (.*)$/.exec(line))
        .filter((match) => match !== null)
        .map((match): [string, string] => [match[1]!, match[2]!]);
      resolve({ code, stdout, stderr, lines, at });
    });
  });
}

/** Every match of `pattern` in the lines, with the node prefix of its line. */
function grep(run: Run, pattern: RegExp): Array<{ node: string; groups: string[] }> {
  return run.lines.flatMap(([node, text]) => {
    const match = pattern.exec(text);
    return match === null ? [] : [{ node, groups: match.slice(1) }];
  });
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const once = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, 1]));

void describe('examples/cluster (scripts/start-cluster.mjs)', { concurrency: true }, () => {
  let redis: RedisServer;
  before(async () => (redis = await startRedisServer()));
  after(() => redis.stop());

  void it(
    'runs three processes; work alternates between the workers; each order charged and fulfilled once',
    { timeout: 60_000 },
    async (t) => {
      const run = await runScript(['--redis', redis.url], 45_000);
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.code, 0, output);
      assert.equal(run.stderr, '', output);
      assert.deepEqual(
        grep(run, /^\{.*"level":/).map((l) => l.node),
        [],
        `no warnings or errors logged by any process:\n${output}`,
      );

      // Charges: each order once, by the node that printed it, over both workers.
      const charges = grep(run, /^ {2}\[billing@(\S+)\] +charged (o-\d+) /);
      for (const { node, groups } of charges)
        assert.equal(node, groups[0], 'narration names its node');
      assert.deepEqual(countBy(charges.map((c) => c.groups[1]!)), once(ORDERS), output);
      const chargesByNode = countBy(charges.map((c) => c.node));
      assert.deepEqual(Object.keys(chargesByNode).sort(), WORKERS, output);
      // Round-robin over two providers: 4 and 4.
      assert.deepEqual(chargesByNode, { 'worker-a': 4, 'worker-b': 4 }, output);
      figure(
        t,
        'charges by worker-a / worker-b',
        `${chargesByNode['worker-a']} / ${chargesByNode['worker-b']}`,
      );
      // The gateway saw the same charger for each order.
      const seen = grep(run, /^ {2}\[checkout@gateway\] +(o-\d+) charged by (\S+) /);
      assert.deepEqual(
        Object.fromEntries(seen.map((s) => [s.groups[0], s.groups[1]])),
        Object.fromEntries(charges.map((c) => [c.groups[1], c.node])),
      );

      // Fulfilment: each order packed once (durable group), reported fulfilled once.
      const packed = grep(run, /^ {2}\[fulfilment@(\S+)\] packed (o-\d+),/);
      for (const { node, groups } of packed) assert.equal(node, groups[0]);
      assert.deepEqual(countBy(packed.map((p) => p.groups[1]!)), once(ORDERS), output);
      assert.deepEqual(
        countBy(grep(run, /^ {2}\[fulfilment@\S+\] packing (o-\d+) /).map((p) => p.groups[0]!)),
        once(ORDERS),
      );
      // Each worker read the order the gateway put in the shared cache.
      assert.equal(
        grep(run, /^ {2}\[fulfilment@\S+\] packing o-\d+ .*, \d+(\.\d+)? EUR per the shared cache$/)
          .length,
        8,
        output,
      );
      const fulfilled = grep(run, /^ {2}\[checkout@gateway\] +(o-\d+) fulfilled by (\S+)$/);
      assert.deepEqual(
        Object.fromEntries(fulfilled.map((f) => [f.groups[0], f.groups[1]])),
        Object.fromEntries(packed.map((p) => [p.groups[1], p.node])),
      );
      assert.equal(grep(run, /redelivered to/).length, 0, output);
      figure(
        t,
        'orders charged once / packed once',
        `${charges.length} / ${packed.length}`,
        'of 8',
      );

      // Plain subscriptions: every worker saw every order (broadcast).
      const metrics = grep(
        run,
        /^ {2}\[metrics@(\S+)\] +saw (\d+) orders placed and (\d+) fulfilled in the cluster, (\d+) of them here; (\d+) changes in the orders feed/,
      );
      assert.deepEqual(metrics.map((m) => m.node).sort(), WORKERS, output);
      for (const { node, groups } of metrics) {
        assert.equal(node, groups[0]);
        assert.deepEqual(groups.slice(1, 3), ['8', '8']);
        // Each worker followed the gateway's change feed from its start, every change once.
        assert.equal(groups[4], '8', output);
        assert.equal(Number(groups[3]), packed.filter((p) => p.node === node).length);
      }

      assert.match(
        run.stdout,
        /\[driver@gateway\] +summary: 8 orders placed, 0 failed; charged by worker-a ×4, worker-b ×4; fulfilled by worker-a ×\d, worker-b ×\d; 0 redelivered, 0 unfulfilled/,
      );
      // The scenario ended before the gateway stopped, and the workers were stopped after it.
      assert.ok(run.stdout.indexOf('summary:') < run.stdout.indexOf('stopping (--once)'));
      assert.match(
        run.stdout,
        /cluster +│ done in [\d.]+ s: gateway exit 0, worker-a exit 0, worker-b exit 0/,
      );
      figure(
        t,
        'whole run (3 processes, start to clean exit)',
        /done in ([\d.]+) s/.exec(run.stdout)![1]!,
        's',
      );

      // The run's namespace is gone from Redis (the --kill-one run may be using its own).
      const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        const namespace = /namespace (cluster-demo-\S+)/.exec(run.stdout)?.[1];
        assert.ok(namespace, output);
        assert.deepEqual(await client.keys(`{${namespace}}:*`), []);
      } finally {
        client.disconnect();
      }
    },
  );

  void it(
    '--kill-one: calls fail over to worker-a and the order worker-b held is redelivered to it',
    { timeout: 60_000 },
    async (t) => {
      // The order worker-b held waits for its lease to lapse: ~30-35 s with the default
      // handler timeout.
      const run = await runScript(['--redis', redis.url, '--kill-one'], 55_000, {
        kill: /SIGKILL worker-b while it packs/,
        redelivered: /redelivered to worker-a/,
      });
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.code, 0, output);
      const kill = /SIGKILL worker-b while it packs (o-\d+)/.exec(run.stdout);
      assert.ok(kill, output);
      const victim = kill[1]!;

      const charges = grep(run, /^ {2}\[billing@(\S+)\] +charged (o-\d+) /);
      assert.deepEqual(countBy(charges.map((c) => c.groups[1]!)), once(ORDERS), output);
      // After the kill, every charge went to worker-a.
      const killedAt = run.lines.findIndex(([, text]) => text.startsWith('SIGKILL worker-b'));
      const chargedAfter = grep(
        { ...run, lines: run.lines.slice(killedAt) },
        /^ {2}\[billing@(\S+)\] /,
      );
      assert.ok(chargedAfter.length > 0, output);
      assert.ok(
        chargedAfter.every((c) => c.node === 'worker-a'),
        output,
      );
      figure(
        t,
        'charges after the SIGKILL served by worker-a',
        chargedAfter.length,
        `of ${chargedAfter.length}`,
      );

      // worker-b took the order and died; worker-a got it again and fulfilled it, once.
      const packing = grep(run, new RegExp(`^ {2}\\[fulfilment@(\\S+)\\] packing ${victim} `));
      assert.deepEqual(
        packing.map((p) => p.node),
        ['worker-b', 'worker-a'],
        output,
      );
      assert.match(
        run.stdout,
        new RegExp(`${victim} redelivered to worker-a \\(worker-b took it first\\)`),
      );
      const fulfilled = grep(run, /^ {2}\[checkout@gateway\] +(o-\d+) fulfilled by (\S+)$/);
      assert.deepEqual(countBy(fulfilled.map((f) => f.groups[0]!)), once(ORDERS), output);
      assert.equal(fulfilled.find((f) => f.groups[0] === victim)?.groups[1], 'worker-a');
      figure(
        t,
        'orders fulfilled once',
        Object.keys(countBy(fulfilled.map((f) => f.groups[0]!))).length,
        'of 8 (0 lost)',
      );
      if (run.at['kill'] !== undefined && run.at['redelivered'] !== undefined)
        figure(
          t,
          'held order redelivered after',
          run.at['redelivered'] - run.at['kill'],
          'ms from the SIGKILL (waits for the lease)',
        );
      assert.match(
        run.stdout,
        new RegExp(
          `summary: 8 orders placed, 0 failed; .* 1 redelivered \\(${victim}\\), 0 unfulfilled`,
        ),
      );
      assert.match(
        run.stdout,
        /done in [\d.]+ s: gateway exit 0, worker-a exit 0, worker-b killed by --kill-one/,
      );
      figure(t, 'whole --kill-one run', /done in ([\d.]+) s/.exec(run.stdout)![1]!, 's');
    },
  );

  void it(
    'the example shop plays its whole story on Redis: transactions, saga, breaker, sealed data, audit log, dead letter',
    { timeout: 40_000 },
    async () => {
      const namespace = `shop-${Date.now().toString(36)}`;
      const run = await runNode(
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'start',
          'examples/shop',
          '--once',
          '--redis',
          redis.url,
          '--namespace',
          namespace,
        ],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            PLUGBOARD_LOG_LEVEL: 'warn',
            PLUGBOARD_KEY_SHOP_DATA: randomBytes(32).toString('base64'),
          },
          killAfterMs: 30_000,
        },
      );
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.code, 0, output);
      assert.equal(run.stderr, '', output);
      assert.match(run.stdout, /10\/10 plugins active .* backend redis/);
      assert.match(
        run.stdout,
        /o-1 packed \(mechanical keyboard\): parcel slot reserved by two-phase commit/,
      );
      assert.match(
        run.stdout,
        /o-1 shipped by postal service \(courier unavailable\), label LBL-o-1, slip sealed/,
      );
      assert.match(
        run.stdout,
        /1 order shipped, 1 dead letter in newsletter\.deliver, audit log verified \(\d+ entries, 1 denial\)/,
      );
      const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        const keys = await client.keys(`{${namespace}}:*`);
        if (keys.length > 0) await client.del(...keys);
      } finally {
        client.disconnect();
      }
    },
  );

  void it('says so and exits 1 when Redis is not reachable', { timeout: 20_000 }, async () => {
    const run = await runScript(['--redis', 'redis://127.0.0.1:1'], 15_000);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    assert.doesNotMatch(run.stdout, /starting/);
  });
});
