import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createHost, definePlugin } from '../../../src/index.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { smokeEveryBlock } from './acl-smoke.js';

const DOC = new URL('../../../docs/redis-backend.md', import.meta.url);
const PASSWORD = 'change-this-password';

/** The ACL line documented in docs/redis-backend.md, for namespace `shop`, as arguments. */
function documentedAcl(): string[] {
  const line = readFileSync(DOC, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ACL SETUSER plugboard '));
  assert.ok(line, 'docs/redis-backend.md documents the ACL line');
  return line.split(' ').slice(1);
}

/**
 * The least-privilege ACL user of docs/redis-backend.md, on a throwaway redis-server: every
 * building block runs under it, nothing but CONFIG is refused, and a wrong password is a clear
 * error.
 */
describe('Redis ACL user with the documented least privileges', () => {
  let server: RedisServer;
  let admin: Redis;
  const port = (): number => server.port;

  before(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    assert.equal(await admin.call('ACL', ...documentedAcl()), 'OK');
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('runs every building block, with a cluster secret, refusing nothing but CONFIG', async () => {
    await admin.call('ACL', 'LOG', 'RESET');
    await smokeEveryBlock({
      redis: `redis://plugboard:${PASSWORD}@127.0.0.1:${port()}`,
      namespace: 'shop',
      clusterSecret: 'the ACL test cluster secret, 32 bytes or more',
    });
    const log = (await admin.call('ACL', 'LOG')) as unknown[][];
    const refused = log.map((entry) => {
      const fields = new Map<string, unknown>();
      for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
      return `${String(fields.get('reason'))} ${String(fields.get('object'))}`;
    });
    // The log works: the tolerated CONFIG GET reads are in it.
    assert.ok(refused.includes('command config|get'), `refused: ${refused.join(', ')}`);
    assert.deepEqual(
      refused.filter((r) => !r.startsWith('command config')),
      [],
      `refused: ${refused.join(', ')}`,
    );
  });

  it('keeps the user out of other namespaces', async () => {
    const user = new Redis(`redis://plugboard:${PASSWORD}@127.0.0.1:${port()}`);
    try {
      await assert.rejects(user.set('{other}:x', '1'), /NOPERM/);
      await assert.rejects(user.publish('{other}:t:x', '1'), /NOPERM/);
      await assert.rejects(user.call('FLUSHALL'), /NOPERM/);
    } finally {
      user.disconnect();
    }
  });

  it('fails start with a clear BackendUnavailableError for a wrong password', async () => {
    const host = await createHost({
      backend: {
        redis: `redis://plugboard:wrong@127.0.0.1:${port()}`,
        namespace: 'shop',
        operationTimeout: 2000,
      },
      logger: false,
      plugins: [definePlugin({ name: 'acl-nobody', version: '1.0.0', activate() {} })],
    });
    try {
      await assert.rejects(host.start(), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'PB_BACKEND_UNAVAILABLE');
        assert.match(error.message, /authentication failed: wrong user name or password/);
        assert.ok(!error.message.includes('wrong@'), 'the password is redacted');
        return true;
      });
    } finally {
      await host.stop();
    }
  });
});
