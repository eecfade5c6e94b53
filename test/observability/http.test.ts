import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHost, definePlugin } from '../../src/index.js';
import { sample, startHost } from './support.js';

describe('GET /metrics and GET /health over HTTP', () => {
  it('serves Prometheus text and health JSON from start() until stop()', async () => {
    const { host, ctx } = await startHost(['web'], { http: { port: 0 } });
    const address = host.httpAddress!;
    assert.equal(address.host, '127.0.0.1');
    try {
      await ctx['web']!.eventBus.publish('web.hit', 1);
      const metrics = await fetch(`${address.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      assert.equal(sample(text, 'plugboard_events_published_total{event="web.hit"}'), 1);
      assert.match(text, /# TYPE plugboard_rpc_call_duration_seconds histogram/);

      const health = await fetch(`${address.url}/health`);
      assert.equal(health.status, 200);
      assert.equal(health.headers.get('content-type'), 'application/json');
      const body = (await health.json()) as {
        ok: boolean;
        status: string;
        plugins: Record<string, { state: string; degraded: boolean }>;
        connections: Array<{ name: string; up: boolean }>;
      };
      assert.equal(body.ok, true);
      assert.equal(body.status, 'running');
      assert.equal(body.plugins['web']?.state, 'active');
      assert.deepEqual(
        body.connections.map((c) => [c.name, c.up]),
        [['memory', true]],
      );

      assert.equal((await fetch(`${address.url}/other`)).status, 404);
      assert.equal((await fetch(`${address.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await host.stop();
    }
    assert.equal(host.httpAddress, undefined);
    await assert.rejects(fetch(`${address.url}/health`), 'the server closed with the host');
  });

  it('answers 503 with the reason when a plugin failed', async () => {
    const host = await createHost({
      logLevel: 'silent',
      http: { port: 0 },
      plugins: [
        definePlugin({
          name: 'broken',
          version: '1.0.0',
          activate() {
            throw new Error('no database');
          },
        }),
      ],
    });
    await host.start();
    try {
      const response = await fetch(`${host.httpAddress!.url}/health`);
      assert.equal(response.status, 503);
      const body = (await response.json()) as {
        ok: boolean;
        plugins: Record<string, { state: string; reason?: string; error?: { message: string } }>;
      };
      assert.equal(body.ok, false);
      assert.equal(body.plugins['broken']?.state, 'failed');
      assert.match(body.plugins['broken']?.error?.message ?? '', /no database/);
    } finally {
      await host.stop();
    }
  });

  it('refuses a bad http option, and a busy port fails start()', async () => {
    await assert.rejects(createHost({ http: { port: 70_000 } }), {
      code: 'PB_VALIDATION',
      details: { field: 'http.port' },
    });
    const first = await startHost(['busy-a'], { http: { port: 0 } });
    try {
      const host = await createHost({
        logLevel: 'silent',
        http: { port: first.host.httpAddress!.port },
      });
      await assert.rejects(host.start(), /Cannot serve \/metrics and \/health/);
      await host.stop();
    } finally {
      await first.host.stop();
    }
  });
});
