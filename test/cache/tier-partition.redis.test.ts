/**
 * A tracking connection that dies without a FIN (a network partition): no 'close' arrives, so
 * only the tracking connection's own check can notice that invalidations stopped coming.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { SHARED_REDIS_URL, waitFor } from '../backends/redis/support.js';
import { startNodes, type TierNodes } from './tier-support.js';

/** A TCP proxy to Redis whose current connections can be silenced (nothing passes, none closes). */
class SilencingProxy {
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(target: URL): Promise<SilencingProxy> {
    const server = createServer();
    const proxy = new SilencingProxy(server);
    server.on('connection', (client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        socket.on('error', () => undefined);
        socket.on('close', () => proxy.sockets.delete(socket));
        proxy.sockets.add(socket);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.server.address();
    assert.ok(address !== null && typeof address === 'object');
    return `redis://127.0.0.1:${address.port}`;
  }

  /** Every connection open now stops carrying bytes, both ways, and is never closed. */
  silence(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** Drop every connection open now (new ones still pass). */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('cache tracking behind a partition (no FIN, no close)', () => {
  let proxy: SilencingProxy;
  let nodes: TierNodes;
  let admin: Redis;
  before(async () => {
    proxy = await SilencingProxy.start(new URL(SHARED_REDIS_URL));
    nodes = await startNodes('redis', proxy.url);
    admin = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    admin.disconnect();
    proxy.cut(); // the silenced connections: the nodes reconnect and close promptly
    await nodes.close();
    await proxy.close();
  });

  it('a silent tracking connection is noticed: the local tier flushes, then tracking resumes', async () => {
    const local = nodes.a.cache.local<string>();
    await local.ready();
    local.set('k', 'v1');
    assert.equal(local.get('k'), 'v1');
    proxy.silence();
    // Changed while this node cannot hear it: the local copy must go all the same.
    await admin.set(`${nodes.namespace}:c:k`, 'changed');
    await waitFor(() => !local.has('k'), 15_000, 'the flush once the silence is noticed');
    // New connections pass the proxy: tracking comes back and evicts again.
    await local.ready(15_000);
    local.set('k2', 'v');
    assert.equal(local.get('k2'), 'v');
    await admin.set(`${nodes.namespace}:c:k2`, 'changed');
    await waitFor(() => !local.has('k2'), 5000, 'eviction after tracking resumed');
  });
});
