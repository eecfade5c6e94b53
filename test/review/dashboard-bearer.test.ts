// The dashboard's token in `Authorization`: the scheme is case-insensitive (RFC 9110 §11.1), so
// a client or proxy sending `bearer <token>` is let in, as with `Bearer <token>`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDashboard } from '../../src/dashboard/server/dashboard.js';
import { createHost } from '../../src/host/index.js';

void describe('dashboard token scheme', () => {
  void it('accepts the bearer scheme in any case, refuses a wrong token', async () => {
    const host = await createHost({ logLevel: 'silent' });
    await host.start();
    const dashboard = await startDashboard(host, { port: 0, token: 'secret-token-1' });
    try {
      const get = (authorization: string): Promise<number> =>
        fetch(`http://127.0.0.1:${dashboard.port}/api/overview`, {
          headers: { authorization },
        }).then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        });
      assert.equal(await get('Bearer secret-token-1'), 200);
      assert.equal(await get('bearer secret-token-1'), 200);
      assert.equal(await get('BEARER secret-token-1'), 200);
      assert.equal(await get('bearer wrong-token-22'), 401);
    } finally {
      await dashboard.close();
      await host.stop();
    }
  });
});
