import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { tempDir, writePluginFolder } from '../host/helpers.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { cli, MAIN, type Run } from './run-cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Each test runs its own CLI processes on the fixtures written once in `before` (read-only): a
// few run at once (most of a run is the child's start, on another core).
void describe('plugboard CLI', { concurrency: 3 }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('plugboard-cli-'));
    const good = join(dir, 'good', 'plugins');
    await writePluginFolder(
      join(good, 'auth'),
      { name: 'auth-plugin', version: '1.0.0' },
      {
        'index.js':
          "export default { activate(context) { context.rpcServer.register('auth', { ok: () => true }); } };\n",
      },
    );
    await writePluginFolder(
      join(good, 'calc'),
      { name: 'calculator-plugin', version: '1.2.0', dependencies: { 'auth-plugin': '^1.0.0' } },
      {
        'index.js':
          "export default { async activate(context) { await context.rpcClient.call('auth', 'ok'); } };\n",
      },
    );
    const bad = join(dir, 'bad'); // plugins directly in the folder (no plugins/ subfolder)
    await writePluginFolder(join(bad, 'ok'), { name: 'ok-plugin', version: '1.0.0' });
    await writePluginFolder(
      join(bad, 'broken'),
      { name: 'broken-plugin', version: '1.0.0' },
      {
        'index.js': "export default { activate() { throw new Error('no database'); } };\n",
      },
    );
    await writePluginFolder(join(bad, 'after'), {
      name: 'after-plugin',
      version: '1.0.0',
      dependencies: { 'broken-plugin': '*' },
    });
    const stuck = join(dir, 'stuck');
    await writePluginFolder(
      join(stuck, 'hang'),
      { name: 'hang-plugin', version: '1.0.0', plugboard: { deactivateTimeout: 15000 } },
      {
        'index.js':
          'export default { activate() {}, deactivate() { return new Promise(() => {}); } };\n',
      },
    );
    const cycle = join(dir, 'cycle');
    await writePluginFolder(join(cycle, 'a'), {
      name: 'a',
      version: '1.0.0',
      dependencies: { b: '*' },
    });
    await writePluginFolder(join(cycle, 'b'), {
      name: 'b',
      version: '1.0.0',
      dependencies: { a: '*' },
    });
  });
  after(() => cleanup());

  void it('prints help', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: plugboard/);
    assert.match(run.stdout, /start \[options\] <folder>/);
  });

  void it('start --once activates the plugins in <folder>/plugins, stops, and exits 0', async () => {
    const run = await cli([
      'start',
      join(dir, 'good'),
      '--once',
      '--node-id',
      'cli-node',
      '--timeline',
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /✓ auth-plugin@1\.0\.0 activated in/);
    assert.match(run.stdout, /✓ calculator-plugin@1\.2\.0 activated in/);
    assert.ok(run.stdout.indexOf('auth-plugin@') < run.stdout.indexOf('calculator-plugin@'));
    assert.match(run.stdout, /2\/2 plugins active .* on node cli-node, backend memory/);
    assert.match(run.stdout, /■ calculator-plugin stopped[\s\S]*■ auth-plugin stopped/);
    assert.match(run.stdout, /plugboard: stopped in/);
    assert.match(run.stdout, /Timeline:\n\+0ms +host +load +ok/);
    assert.match(run.stdout, /calculator-plugin +activate +ok +\d+ms +level 1/);
  });

  void it('start --strict-permissions is the host option: plugins without a list do not run', async () => {
    // The same folder runs without the flag (above); its plugins declare no permissions list.
    const run = await cli(['start', join(dir, 'good'), '--once', '--strict-permissions']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /strictPermissions|PB_PERMISSION_DENIED/);
  });

  void it('exits 1 and names the plugin when one fails; its dependents are not started', async () => {
    const run = await cli(['start', join(dir, 'bad'), '--once']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /✗ Plugin "broken-plugin" failed to activate: no database/);
    assert.match(
      run.stdout,
      /- after-plugin not started: depends on "broken-plugin", which failed/,
    );
    assert.match(run.stdout, /✓ ok-plugin@1\.0\.0 activated/);
    assert.match(run.stdout, /1\/3 plugins active \(1 failed, 1 not started\)/);
  });

  void it('exits 1 with the cycle printed when the graph is invalid', async () => {
    const run = await cli(['start', join(dir, 'cycle'), '--once']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /a -> b -> a/);
    assert.match(run.stderr, /PB_DEPENDENCY_CYCLE/);
  });

  void it('stops cleanly on SIGINT', async () => {
    let sent = false;
    const run = await cli(['start', join(dir, 'good')], (text, child) => {
      if (!sent && text.includes('Press Ctrl+C')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /stopping \(SIGINT\)/);
    assert.match(run.stdout, /■ auth-plugin stopped/);
  });

  void it('a second signal exits at once, without waiting for a stuck plugin', async () => {
    let signals = 0;
    const started = Date.now();
    const run = await cli(['start', join(dir, 'stuck')], (text, child) => {
      if (signals === 0 && text.includes('Press Ctrl+C')) {
        signals++;
        child.kill('SIGTERM');
      } else if (signals === 1 && text.includes('stopping (SIGTERM)')) {
        signals++;
        child.kill('SIGINT');
      }
    });
    assert.equal(run.code, 130, run.stdout + run.stderr);
    assert.match(run.stderr, /SIGINT again, exiting without waiting/);
    assert.ok(Date.now() - started < 10_000);
  });

  void it('--exit-after stops after the given time; bad arguments are refused', async () => {
    const run = await cli(['start', join(dir, 'good'), '--exit-after', '50']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /stopping \(--exit-after\)/);
    const badArg = await cli(['start', join(dir, 'good'), '--exit-after', 'soon']);
    assert.notEqual(badArg.code, 0);
    assert.match(badArg.stderr, /whole number of milliseconds/);
    const missing = await cli(['start', join(dir, 'nope'), '--once']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /is not a folder/);
  });

  void it('refuses a PLUGBOARD_LOG_LEVEL that is not a log level, naming it', async () => {
    const run = await cli(['start', join(dir, 'good'), '--once'], undefined, {
      PLUGBOARD_LOG_LEVEL: 'chatty',
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /PLUGBOARD_LOG_LEVEL must be one of trace, debug/);
  });

  void it('--redis to a closed port: one line with the root cause and a hint, no JSON dump', async () => {
    const port = await closedPort();
    const run = await cli(
      ['start', join(dir, 'good'), '--once', '--redis', `redis://127.0.0.1:${port}`],
      undefined,
      { PLUGBOARD_LOG_LEVEL: '' }, // the default level (warn)
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.deepEqual(run.stderr.trimEnd().split('\n'), [
      `plugboard: could not start: Cannot connect to Redis at redis://127.0.0.1:${port}: connection refused: nothing listens there (ECONNREFUSED 127.0.0.1:${port}) [PB_BACKEND_UNAVAILABLE]`,
      '  hint: check that Redis runs at that address (redis-cli -u <url> ping), or leave out --redis to run in memory.',
    ]);
    assert.doesNotMatch(run.stdout, /stopped in/);
  });

  void it('--redis names a host that does not resolve and an authentication failure', async () => {
    const missing = await cli(
      ['start', join(dir, 'good'), '--once', '--redis', 'redis://plugboard-test.invalid:6379'],
      undefined,
      { PLUGBOARD_LOG_LEVEL: '' },
    );
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /host not found \((ENOTFOUND|EAI_AGAIN) plugboard-test\.invalid\)/,
    );
    assert.doesNotMatch(missing.stderr, /"level"|Connection is closed/);
    const server = await startRedisServer(['--requirepass', 'sekret']);
    try {
      const noAuth = await cli(['start', join(dir, 'good'), '--once', '--redis', server.url]);
      assert.equal(noAuth.code, 1);
      assert.match(
        noAuth.stderr,
        /authentication failed: the server requires a password \(NOAUTH\)/,
      );
      const authed = await cli([
        'start',
        join(dir, 'good'),
        '--once',
        '--redis',
        `redis://:sekret@127.0.0.1:${server.port}`,
        '--namespace',
        `cli-${process.pid}`,
      ]);
      assert.equal(authed.code, 0, authed.stdout + authed.stderr);
      assert.match(authed.stdout, /2\/2 plugins active .* backend redis/);
    } finally {
      await server.stop();
    }
  });

  void it('refuses a --redis URL that is not a Redis URL, before starting anything', async () => {
    const run = await cli(['start', join(dir, 'good'), '--once', '--redis', 'http://x']);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^plugboard: Redis URL "http:\/\/x" is not a Redis URL .*\[PB_VALIDATION\]\n$/,
    );
    assert.equal(run.stdout, '');
  });

  void it('a failed plugin is told once (on stdout), not again as a JSON dump on stderr', async () => {
    const run = await cli(['start', join(dir, 'bad'), '--once'], undefined, {
      PLUGBOARD_LOG_LEVEL: '',
    });
    assert.equal(run.code, 1);
    assert.equal(run.stdout.split('no database').length - 1, 1, run.stdout);
    assert.equal(run.stderr, '');
    // JSON asked for by name (a log collector) gets the record too, once.
    const json = await cli(
      ['start', join(dir, 'bad'), '--once', '--log-format', 'json'],
      undefined,
      {
        PLUGBOARD_LOG_LEVEL: '',
      },
    );
    const records = json.stderr
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    assert.equal(records.filter((r) => r.msg.includes('no database')).length, 2); // failed, summary
    assert.ok(records.some((r) => r.msg.startsWith('Host started with 1 of 3 plugins')));
  });

  void it('JSON lines when not a terminal; a logged error does not repeat its cause', async () => {
    const run = await cli(['start', join(dir, 'bad'), '--once', '--log-level', 'debug']);
    const records = run.stderr
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const failed = records.find((r) => r['plugin'] === 'broken-plugin' && r['level'] === 50);
    const err = failed?.['err'] as { message: string; cause: { message: string } };
    assert.equal(err.message, 'Plugin "broken-plugin" failed to activate: no database');
    assert.equal(err.cause.message, 'no database');
  });

  void it('--log-format pretty (or PLUGBOARD_LOG_FORMAT) prints levelled lines, not JSON', async () => {
    for (const [args, env] of [
      [['--log-format', 'pretty'], {}],
      [[], { PLUGBOARD_LOG_FORMAT: 'pretty' }],
    ] as const) {
      const run = await cli(
        ['start', join(dir, 'good'), '--once', '--log-level', 'info', ...args],
        undefined,
        env,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Host started/m);
      assert.doesNotMatch(run.stderr, /^\{"level"/m);
    }
    const bad = await cli(['start', join(dir, 'good'), '--once'], undefined, {
      PLUGBOARD_LOG_FORMAT: 'xml',
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /PLUGBOARD_LOG_FORMAT must be json or pretty/);
  });

  void it(
    'on a terminal, logs are pretty by default',
    { skip: !hasScript() && 'needs script(1)' },
    async () => {
      const command = [
        process.execPath,
        '--import',
        'tsx',
        MAIN,
        'start',
        join(dir, 'good'),
        '--once',
        '--log-level',
        'info',
      ]
        .map((a) => `'${a}'`)
        .join(' ');
      const run = await new Promise<Run>((resolve, reject) => {
        const child = spawn('script', ['-qfec', command, '/dev/null'], {
          cwd: ROOT,
          env: { ...process.env, PLUGBOARD_LOG_LEVEL: '', NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code, signal) => {
          clearTimeout(killer);
          resolve({ code, signal, stdout, stderr: '' });
        });
      });
      assert.equal(run.code, 0, run.stdout);
      // eslint-disable-next-line no-control-regex
      const text = run.stdout.replace(/\x1b\[[0-9;]*m/g, '');
      assert.match(text, /\] INFO: Host started/);
      assert.doesNotMatch(text, /\{"level"/);
      assert.match(text, /2\/2 plugins active/);
    },
  );

  void it('--strict-start: a plugin that fails stops everything, exit 1, one line naming them', async () => {
    const run = await cli(['start', join(dir, 'bad'), '--once', '--strict-start'], undefined, {
      PLUGBOARD_LOG_LEVEL: '',
    });
    assert.equal(run.code, 1);
    assert.deepEqual(run.stderr.trimEnd().split('\n'), [
      'plugboard: could not start: 2 of 3 plugins did not start (strictStart): "broken-plugin" failed (no database); "after-plugin" not started (depends on "broken-plugin", which failed). [PB_PLUGIN_START]',
      '  hint: the lines above say why each plugin failed; without --strict-start the others would run.',
    ]);
    assert.match(run.stdout, /■ ok-plugin stopped/);
    assert.doesNotMatch(run.stdout, /plugins active/);
    const fine = await cli(['start', join(dir, 'good'), '--once', '--strict-start']);
    assert.equal(fine.code, 0, fine.stderr);
  });
});

/** A port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}
