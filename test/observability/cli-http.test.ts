import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runStart, type StartIo } from '../../src/cli/start-command.js';
import { tempDir, writePluginFolder } from '../host/helpers.js';

describe('plugboard start --http <port>', () => {
  it('serves /health and /metrics while the plugins run', async () => {
    const { dir, cleanup } = await tempDir('plugboard-obs-');
    await writePluginFolder(join(dir, 'plugins', 'pinger'), {
      name: 'pinger',
      version: '1.0.0',
      type: 'module',
      main: 'index.js',
    });
    const out: string[] = [];
    let stop: (signal: NodeJS.Signals) => void = () => undefined;
    const io: StartIo = {
      out: (line) => void out.push(line),
      err: (line) => void out.push(line),
      onSignal: (handler) => {
        stop = handler;
        return () => undefined;
      },
      exit: () => {
        throw new Error('exit');
      },
    };
    try {
      const running = runStart(dir, { http: 0, logLevel: 'silent' }, io);
      const started = Date.now();
      let url: string | undefined;
      while (url === undefined && Date.now() - started < 10_000) {
        url = out.map((line) => /metrics at (\S+)\/metrics/.exec(line)?.[1]).find(Boolean);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(url !== undefined, `no metrics address in: ${out.join('\n')}`);
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 200);
      const body = (await health.json()) as { plugins: Record<string, { state: string }> };
      assert.equal(body.plugins['pinger']?.state, 'active');
      assert.match(
        await (await fetch(`${url}/metrics`)).text(),
        /plugboard_events_published_total/,
      );
      stop('SIGTERM');
      assert.equal(await running, 0);
      await assert.rejects(fetch(`${url}/health`));
    } finally {
      await cleanup();
    }
  });

  it('refuses --http-host without --http', async () => {
    const lines: string[] = [];
    const code = await runStart(
      '.',
      { httpHost: '0.0.0.0' },
      {
        out: (line) => void lines.push(line),
        err: (line) => void lines.push(line),
        onSignal: () => () => undefined,
        exit: () => {
          throw new Error('exit');
        },
      },
    );
    assert.equal(code, 1);
    assert.match(lines.join('\n'), /--http-host only applies with --http/);
  });
});
