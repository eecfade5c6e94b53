import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHost, definePlugin, type PluginContext } from '../../../src/index.js';
import type { RedisBackendOption } from '../../../src/backends/resolve.js';
import { freePort, startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { waitFor } from './support.js';

/** `openssl` with arguments, in `dir`; throws with its stderr on failure. */
function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and certificates it signs for the server (127.0.0.1, localhost) and a client. */
function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca'])
    openssl(
      dir,
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=plugboard test ${ca}`,
    );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, ext] of [
    ['server', ['-extfile', 'server.ext']],
    ['client', []],
  ] as const) {
    openssl(
      dir,
      'req',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=plugboard test ${name}`,
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      ...ext,
    );
  }
}

/**
 * `rediss://` against a real redis-server with TLS that authenticates clients: certificates
 * made with openssl for this run, CA and client certificate given as files.
 */
describe('Redis over TLS with CA and client certificates', () => {
  let dir: string;
  let server: RedisServer;
  let url: string;
  const file = (name: string): string => join(dir, name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plugboard-tls-'));
    makeCertificates(dir);
    const tlsPort = await freePort();
    server = await startRedisServer([
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      file('server.crt'),
      '--tls-key-file',
      file('server.key'),
      '--tls-ca-cert-file',
      file('ca.crt'),
      '--tls-auth-clients',
      'yes',
    ]);
    url = `rediss://127.0.0.1:${tlsPort}`;
  });
  after(async () => {
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const hostOn = async (backend: RedisBackendOption, plugin: ReturnType<typeof definePlugin>) =>
    createHost({ backend, plugins: [plugin], logger: false, startTimeout: 5000 });

  it('publishes and calls between two hosts through rediss:// with a client certificate', async () => {
    const backend: RedisBackendOption = {
      redis: url,
      namespace: 'tls',
      tls: { caFile: file('ca.crt'), certFile: file('client.crt'), keyFile: file('client.key') },
      clusterSecret: 'a cluster secret for the TLS test, 32+ bytes',
    };
    const got: unknown[] = [];
    const provider = await hostOn(
      backend,
      definePlugin({
        name: 'tls-provider',
        version: '1.0.0',
        async activate(context) {
          await context.rpcServer.register('tls-math', { double: (n: number) => n * 2 }).ready;
          await context.eventBus.subscribe('tls.ping', (data) => void got.push(data)).ready;
        },
      }),
    );
    let caller!: PluginContext;
    const front = await hostOn(
      {
        ...backend,
        tls: {
          ca: [readFileSync(file('ca.crt'))],
          cert: readFileSync(file('client.crt')),
          key: readFileSync(file('client.key')),
          servername: 'localhost',
        },
      },
      definePlugin({ name: 'tls-caller', version: '1.0.0', activate: (c) => void (caller = c) }),
    );
    try {
      await provider.start();
      await front.start();
      assert.equal(await caller.rpcClient.call('tls-math', 'double', [21]), 42);
      await caller.eventBus.publish('tls.ping', { n: 1 });
      await waitFor(() => got.length > 0, 3000, 'the event');
      assert.deepEqual(got, [{ n: 1 }]);
    } finally {
      await front.stop();
      await provider.stop();
    }
  });

  /** The error `host.start()` fails with for these TLS settings. */
  const startError = async (
    tls: RedisBackendOption['tls'],
  ): Promise<Error & { code?: string; details?: Record<string, unknown> }> => {
    const host = await hostOn(
      { redis: url, namespace: 'tls-bad', tls, operationTimeout: 2000 },
      definePlugin({ name: 'tls-nobody', version: '1.0.0', activate() {} }),
    );
    try {
      await host.start();
    } catch (error) {
      return error as Error & { code?: string };
    } finally {
      await host.stop();
    }
    assert.fail('start should have failed');
  };

  it('fails with a clear BackendUnavailableError without a client certificate', async () => {
    const error = await startError({ caFile: file('ca.crt') });
    assert.equal(error.code, 'PB_BACKEND_UNAVAILABLE');
    assert.match(error.message, /client certificate/i);
  });

  it('fails with a clear BackendUnavailableError when the server is not signed by the given CA', async () => {
    const error = await startError({
      caFile: file('other-ca.crt'),
      certFile: file('client.crt'),
      keyFile: file('client.key'),
    });
    assert.equal(error.code, 'PB_BACKEND_UNAVAILABLE');
    assert.match(error.message, /certificate/i);
    assert.match(error.message, /tls\.ca/);
  });
});
