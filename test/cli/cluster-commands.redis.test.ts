import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createHost, definePlugin, type Host, type PluginContext } from '../../src/index.js';
import { buildProgram } from '../../src/cli/program.js';
import { runCall } from '../../src/cli/commands/call-command.js';
import { runEmit } from '../../src/cli/commands/emit-command.js';
import { runNodes } from '../../src/cli/commands/nodes-command.js';
import { runDeadLetters, runQueues, runSettle } from '../../src/cli/commands/queues-command.js';
import { runServices } from '../../src/cli/commands/services-command.js';
import { runTail } from '../../src/cli/commands/tail-command.js';
import type { CommandEnv } from '../../src/cli/cluster-command.js';
import { styleFor, type Progress } from '../../src/cli/terminal.js';
import { tempDir, writePluginFolder } from '../host/helpers.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from '../backends/redis/support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
/** tsx by its resolved address: the CLI runs in a folder of its own (for its config file). */
const TSX = import.meta.resolve('tsx');

/** A terminal that records what a command writes (no TTY: no colors, no progress). */
function recorder(env: Record<string, string>, cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const signals = new Set<() => void>();
  const commandEnv: CommandEnv = {
    env,
    cwd,
    terminal: {
      out: (text) => void out.push(text),
      err: (text) => void err.push(text),
      style: styleFor(false),
      progress: (): Progress => ({ update() {}, stop() {} }),
      onSignal(handler) {
        signals.add(handler);
        return () => signals.delete(handler);
      },
    },
  };
  return { out, err, env: commandEnv, json: () => JSON.parse(out.join('\n')) as unknown };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI from the source, as a user runs it. */
function cli(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

void describe('cluster commands on Redis', () => {
  const namespace = uniqueNamespace('cli');
  const env = { PLUGBOARD_REDIS: SHARED_REDIS_URL, PLUGBOARD_NAMESPACE: namespace };
  let host: Host;
  let context!: PluginContext;
  const received: Array<{ data: unknown; source: string }> = [];
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir('plugboard-cli-cluster-'));
    host = await createHost({
      nodeId: 'shop-node',
      backend: { redis: SHARED_REDIS_URL, namespace },
      logLevel: 'silent',
      plugins: [
        definePlugin({
          name: 'shop',
          version: '1.0.0',
          activate(ctx) {
            context = ctx;
            ctx.rpcServer.register('calc', {
              add: (a: number, b: number) => a + b,
              echo: (value: unknown) => value,
            });
            ctx.eventBus.subscribe('order.*', (data, _next, meta) => {
              if (meta.source === 'plugboard-cli') received.push({ data, source: meta.source });
            });
            // A durable group whose handler always fails: its event ends as a dead letter
            // (after 5 attempts, about 3 s of backoff, while the other tests run).
            ctx.eventBus.subscribe(
              'audit.*',
              () => {
                throw new Error('audit store down');
              },
              { durable: true, group: 'auditors' },
            );
          },
        }),
      ],
    });
    await host.start();
    await context.eventBus.publish('audit.login', { user: 'u-1' });
  });

  after(async () => {
    await host.stop();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
    await cleanup();
  });

  void it('nodes in an empty namespace names the namespace it looked in', async () => {
    // A newcomer's usual mistake: the hosts run with --namespace shop, the command without it.
    const nodes = recorder({ PLUGBOARD_REDIS: SHARED_REDIS_URL }, dir);
    assert.equal(
      await runNodes({ namespace: `${namespace}-none` }, nodes.env),
      0,
      nodes.err.join('\n'),
    );
    assert.match(
      nodes.out.join('\n'),
      new RegExp(`No node is running in namespace "${namespace}-none"`),
    );
    assert.match(nodes.out.join('\n'), /--namespace or PLUGBOARD_NAMESPACE/);
  });

  void it('nodes lists the host with its plugins and services; services lists calc', async () => {
    const nodes = recorder(env, dir);
    const services = recorder(env, dir);
    const [a, b] = await Promise.all([
      runNodes({ json: true }, nodes.env),
      runServices({ json: true }, services.env),
    ]);
    assert.deepEqual([a, b], [0, 0], `${nodes.err.join('\n')}${services.err.join('\n')}`);
    assert.deepEqual(nodes.json(), [
      { nodeId: 'shop-node', plugins: ['shop'], services: ['calc'] },
    ]);
    const [calc] = services.json() as Array<{
      name: string;
      methods: string[];
      instances: unknown[];
    }>;
    assert.equal(calc?.name, 'calc');
    assert.deepEqual(calc?.methods, ['add', 'echo']);
    assert.deepEqual(calc?.instances, [
      { id: (calc?.instances[0] as { id: string }).id, nodeId: 'shop-node', pluginId: 'shop' },
    ]);
    // Text output: a table naming the node.
    const text = recorder(env, dir);
    assert.equal(await runNodes({}, text.env), 0);
    assert.match(text.out.join('\n'), /^NODE\s+PLUGINS\s+SERVICES\nshop-node\s+shop\s+calc$/);
  });

  void it('call returns the result; an array is the argument list, another value the argument', async () => {
    const sum = recorder(env, dir);
    const echo = recorder(env, dir);
    const [a, b] = await Promise.all([
      runCall('calc', 'add', '[2, 3]', { json: true }, sum.env),
      runCall('calc', 'echo', '{"x":[1,null]}', { json: true }, echo.env),
    ]);
    assert.deepEqual([a, b], [0, 0], sum.err.join('\n') + echo.err.join('\n'));
    assert.deepEqual(sum.json(), { result: 5 });
    assert.deepEqual(echo.json(), { result: { x: [1, null] } });
  });

  void it('call: a JSON error points at the position; an unknown service lists the known ones', async () => {
    const bad = recorder(env, dir);
    assert.equal(await runCall('calc', 'add', '{"a":}', {}, bad.env), 1);
    assert.equal(
      bad.err.join('\n'),
      'plugboard: The parameters is not valid JSON at position 5: Unexpected token \'}\' [PB_VALIDATION]\n  {"a":}\n       ^',
    );
    const unknown = recorder(env, dir);
    assert.equal(await runCall('billing', 'charge', undefined, {}, unknown.env), 1);
    assert.match(unknown.err[0]!, /No provider of "billing".*\[PB_SERVICE_UNAVAILABLE\]/);
    assert.equal(unknown.err[1], '  known services: calc');
    const method = recorder(env, dir);
    assert.equal(await runCall('calc', 'mul', '[1,2]', {}, method.env), 1);
    assert.equal(method.err[1], '  methods of calc: add, echo');
  });

  void it('emit reaches a subscriber; tail prints a published event', async () => {
    const tail = recorder(env, dir);
    const tailing = runTail('order.**', { json: true, count: 1, timeout: 15_000 }, tail.env);
    await waitFor(() => tail.err.some((line) => line.includes('tailing')), 10_000, 'tail ready');
    const emit = recorder(env, dir);
    assert.equal(await runEmit('order.created', '{"id":42}', { json: true }, emit.env), 0);
    assert.equal((emit.json() as { published: boolean }).published, true);
    assert.equal(await tailing, 0, tail.err.join('\n'));
    assert.match(
      tail.err.join('\n'),
      /tailing "order\.\*\*" \(1 event, 15000 ms, Ctrl-C to stop\)/,
    );
    const event = tail.json() as Record<string, unknown>;
    assert.equal(event['name'], 'order.created');
    assert.equal(event['source'], 'plugboard-cli');
    assert.deepEqual(event['data'], { id: 42 });
    assert.equal(typeof event['traceId'], 'string');
    assert.equal(typeof event['time'], 'number');
    await waitFor(() => received.length === 1, 5000, 'the subscriber');
    assert.deepEqual(received, [{ data: { id: 42 }, source: 'plugboard-cli' }]);
  });

  void it('tail --count with --timeout exits 1 when too few events arrive', async () => {
    const tail = recorder(env, dir);
    assert.equal(await runTail('nothing.here', { count: 1, timeout: 300 }, tail.env), 1);
    assert.match(tail.err.at(-1)!, /0 of 1 events arrived before the timeout/);
  });

  void it('queues shows depth and dead letters; replay moves one back; remove deletes', async () => {
    await context.messageQueue.send('jobs', { n: 1 });
    const consumer = context.messageQueue.receive('fragile', () => {
      throw new Error('boom');
    });
    await context.messageQueue.send('fragile', { n: 1 });
    await context.messageQueue.send('fragile', { n: 2 });
    await waitFor(
      async () => (await context.messageQueue.stats('fragile')).dead === 2,
      10_000,
      'two dead letters',
    );
    await consumer.stop();
    await waitFor(
      async () => (await host.durable.list()).some((q) => q.counts.dead === 1),
      15_000,
      'the durable event to be dead-lettered',
    );

    const stats = recorder(env, dir);
    assert.equal(await runQueues({ json: true }, stats.env), 0, stats.err.join('\n'));
    const queues = stats.json() as Array<Record<string, unknown>>;
    assert.deepEqual(
      queues.map((q) => [
        q['name'],
        q['kind'],
        q['waiting'],
        q['delayed'],
        q['inFlight'],
        q['dead'],
      ]),
      [
        ['auditors:audit.*', 'events', 0, 0, 0, 1],
        ['fragile', 'work', 0, 0, 0, 2],
        ['jobs', 'work', 1, 0, 0, 0],
      ],
    );
    assert.deepEqual([queues[0]!['group'], queues[0]!['pattern']], ['auditors', 'audit.*']);

    // A durable group's dead letter carries its event's name; remove it by id.
    const events = recorder(env, dir);
    assert.equal(await runDeadLetters('auditors:audit.*', { json: true }, events.env), 0);
    const [audit] = events.json() as Array<{
      id: string;
      event: string;
      data: unknown;
      reason: string;
      attempt: number;
    }>;
    assert.deepEqual(
      [audit?.event, audit?.data, audit?.reason, audit?.attempt],
      ['audit.login', { user: 'u-1' }, 'audit store down', 5],
    );
    const drop = recorder(env, dir);
    assert.equal(
      await runSettle('remove', 'auditors:audit.*', [audit!.id], { json: true }, drop.env),
      0,
    );
    assert.deepEqual(drop.json(), { removed: 1, missing: [] });

    const dead = recorder(env, dir);
    assert.equal(await runDeadLetters('fragile', { json: true }, dead.env), 0);
    const letters = dead.json() as Array<{
      id: string;
      reason: string;
      data: unknown;
      attempt: number;
    }>;
    assert.deepEqual(
      letters.map((l) => [l.reason, l.data, l.attempt]),
      [
        ['boom', { n: 1 }, 1],
        ['boom', { n: 2 }, 1],
      ],
    );

    const replay = recorder(env, dir);
    assert.equal(
      await runSettle('replay', 'fragile', [letters[0]!.id], { json: true }, replay.env),
      0,
    );
    assert.deepEqual(replay.json(), { replayed: 1, missing: [] });
    const after1 = await context.messageQueue.stats('fragile');
    assert.deepEqual([after1.waiting, after1.dead], [1, 1]);

    const remove = recorder(env, dir);
    assert.equal(
      await runSettle('remove', 'fragile', [], { json: true, all: true }, remove.env),
      0,
    );
    assert.deepEqual(remove.json(), { removed: 1, missing: [] });
    assert.equal((await context.messageQueue.stats('fragile')).dead, 0);

    const missing = recorder(env, dir);
    assert.equal(await runSettle('replay', 'fragile', ['0-1'], {}, missing.env), 1);
    assert.match(missing.err.join('\n'), /no dead letter 0-1 in fragile/);
    assert.deepEqual(missing.out, [], 'nothing was replayed: no check mark on stdout');
    const unknown = recorder(env, dir);
    assert.equal(await runDeadLetters('nope', {}, unknown.env), 1);
    assert.match(
      unknown.err[0]!,
      /No queue "nope" in this cluster; known: auditors:audit\.\*, fragile, jobs/,
    );
    const both = recorder(env, dir);
    assert.equal(await runSettle('remove', 'fragile', ['1'], { all: true }, both.env), 1);
    assert.match(both.err[0]!, /give the dead letter ids to remove, or --all \(not both\)/);
  });

  void it('errors: no Redis configured says how to give it; a refused connection names the URL without password', async () => {
    const none = recorder({}, dir);
    assert.equal(await runNodes({}, none.env), 1);
    assert.match(
      none.err[0]!,
      /No Redis configured: give --redis redis:\/\/host:6379, set PLUGBOARD_REDIS, or put "redis" in plugboard\.config\.json/,
    );
    const refused = recorder({ PLUGBOARD_REDIS: 'redis://:hunter2@127.0.0.1:1' }, dir);
    assert.equal(await runServices({}, refused.env), 1);
    assert.match(refused.err[0]!, /redis:\/\/:\*\*\*@127\.0\.0\.1:1.*connection refused/);
    assert.equal(
      refused.err[1],
      '  hint: check that Redis runs there (redis-cli -u <url> ping) and that the address is right (PLUGBOARD_REDIS).',
    );
    assert.doesNotMatch(refused.err.join('\n'), /hunter2/);
  });

  void it('end to end from the command line: nodes, call, and start reading the config file', async () => {
    // `start` finds Redis, namespace and node id in ./plugboard.config.json; the flag wins over it.
    const app = join(dir, 'app');
    await writePluginFolder(join(app, 'plugins', 'hello'), { name: 'hello', version: '1.0.0' });
    await writeFile(
      join(app, 'plugboard.config.json'),
      JSON.stringify({ redis: SHARED_REDIS_URL, namespace, nodeId: 'from-file' }),
    );
    // `nodes` runs before `start`: the started node joins this namespace and would be listed.
    const [nodes, call] = await Promise.all([
      cli(['nodes', '--json'], env, dir),
      cli(
        [
          'call',
          'calc',
          'add',
          '[40,2]',
          '--json',
          '--redis',
          SHARED_REDIS_URL,
          '--namespace',
          namespace,
        ],
        {},
        dir,
      ),
    ]);
    const start = await cli(
      ['start', '.', '--once', '--node-id', 'from-flag'],
      { PLUGBOARD_LOG_LEVEL: 'silent' },
      app,
    );
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /1\/1 plugins active .* on node from-flag, backend redis/);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.deepEqual(JSON.parse(nodes.stdout), [
      { nodeId: 'shop-node', plugins: ['shop'], services: ['calc'] },
    ]);
    assert.equal(call.code, 0, call.stderr);
    assert.equal(call.stdout, '{"result":42}\n');
  });

  void it('help: every command has an example; a bad flag value names the flag', async () => {
    const program = buildProgram();
    const queues = program.commands.find((c) => c.name() === 'queues')!;
    const replay = queues.commands.find((c) => c.name() === 'replay')!;
    let help = '';
    replay.configureOutput({ writeOut: (text) => void (help += text) });
    replay.outputHelp();
    assert.match(help, /Usage: plugboard queues replay \[options\] <queue> \[id\.\.\.\]/);
    assert.match(help, /Example:\n {2}plugboard queues replay emails/);
    for (const name of ['nodes', 'services', 'call', 'emit', 'tail', 'queues']) {
      const command = program.commands.find((c) => c.name() === name)!;
      let text = '';
      command.configureOutput({ writeOut: (t) => void (text += t) });
      command.outputHelp();
      assert.match(text, /Example:\n {2}plugboard /, name);
      assert.match(text, /--json/, name);
    }
    const bad = recorder({}, dir);
    assert.equal(await runNodes({ namespace: 'x{y}', redis: SHARED_REDIS_URL }, bad.env), 1);
    assert.equal(
      bad.err.join('\n'),
      'plugboard: --namespace is invalid (must not contain braces); got "x{y}". [PB_VALIDATION]',
    );
  });

  void it('leaves nothing behind: no command-line node is live or owns an entry', async () => {
    const probe = await startBackend({ redis: SHARED_REDIS_URL, namespace });
    try {
      const live = await probe.registry.liveNodes();
      assert.deepEqual(live.filter((id) => id !== probe.nodeId).sort(), ['shop-node']);
      assert.deepEqual(
        (await probe.registry.list('rpc')).map((r) => r.nodeId),
        ['shop-node'],
      );
    } finally {
      await probe.close();
    }
  });
});
