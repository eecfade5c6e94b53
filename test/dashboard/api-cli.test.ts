import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runStart, type StartIo, type StartOptions } from '../../src/cli/start-command.js';
import { tempDir, writePluginFolder } from '../host/helpers.js';
import { rawGet } from './support.js';

/** Run `plugboard start` in this process; `running` acts on the printed dashboard URL, then it stops. */
async function start(
  folder: string,
  options: StartOptions,
  running: (url: string) => Promise<void>,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  let stop: ((signal: NodeJS.Signals) => void) | undefined;
  let acting: Promise<void> | undefined;
  const io: StartIo = {
    out: (line) => {
      out.push(line);
      const url = /dashboard at (\S+)/.exec(line)?.[1];
      if (url !== undefined) acting = running(url);
      if (line.includes('running for')) void acting?.finally(() => stop?.('SIGINT'));
    },
    err: (line) => void err.push(line),
    onSignal: (handler) => {
      stop = handler;
      return () => undefined;
    },
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
  const code = await runStart(folder, { logLevel: 'silent', exitAfter: 20_000, ...options }, io);
  await acting;
  return { code, out, err };
}

describe('plugboard start --dashboard', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir('pb-dash-cli-'));
    await writePluginFolder(join(dir, 'plugins', 'hello'), {
      name: 'hello',
      version: '1.0.0',
      type: 'module',
      main: 'index.js',
    });
  });
  after(() => cleanup());

  it('serves the dashboard while running, prints its URL once, and closes it on stop', async () => {
    let port = 0;
    const run = await start(dir, { dashboard: 0 }, async (url) => {
      port = Number(new URL(url).port);
      const overview = await fetch(new URL('/api/overview', url));
      assert.equal(overview.status, 200);
      const body = (await overview.json()) as { plugins: Array<{ name: string }> };
      assert.deepEqual(
        body.plugins.map((p) => p.name),
        ['hello'],
      );
    });
    assert.equal(run.code, 0, run.err.join('\n'));
    assert.equal(run.out.filter((line) => line.includes('dashboard at')).length, 1);
    await assert.rejects(rawGet(port, '/api/overview'), 'closed once stopped');
  });

  it('beyond loopback, prints a generated token that the API requires', async () => {
    const run = await start(dir, { dashboard: 0, dashboardHost: '0.0.0.0' }, async (url) => {
      const token = new URL(url).searchParams.get('token');
      assert.ok(token !== null && token.length >= 32);
      const port = Number(new URL(url).port);
      assert.equal((await rawGet(port, '/api/overview')).status, 401);
      assert.equal((await rawGet(port, `/api/overview?token=${token}`)).status, 200);
    });
    assert.equal(run.code, 0, run.err.join('\n'));
  });

  it('fails with one line when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const taken = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const run = await start(dir, { dashboard: taken }, () => Promise.resolve());
      assert.equal(run.code, 1);
      assert.deepEqual(run.err, [
        `plugboard: could not serve the dashboard: port ${taken} is in use`,
      ]);
    } finally {
      blocker.close();
    }
  });
});
