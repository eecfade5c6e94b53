import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { RegistryChange, RegistryStore } from '../../src/backends/ports.js';
import { watchKind } from '../../src/backends/watch-kind.js';

describe('watchKind', () => {
  it('does not resurrect an entry deleted while the snapshot was being listed', async () => {
    const network = new MemoryNetwork();
    const a = new MemoryBackend({ nodeId: 'a', network });
    const b = new MemoryBackend({ nodeId: 'b', network });
    await a.registry.put('k', 'e1', new Uint8Array([1]));
    // b's list() takes its snapshot now, but answers only after a has removed the entry.
    let removed!: () => void;
    const removal = new Promise<void>((resolve) => (removed = resolve));
    const slowList: RegistryStore = {
      put: (kind, id, value) => b.registry.put(kind, id, value),
      remove: (kind, id) => b.registry.remove(kind, id),
      liveNodes: () => b.registry.liveNodes(),
      watch: (kind, listener) => b.registry.watch(kind, listener),
      list: async (kind) => {
        const snapshot = await b.registry.list(kind);
        await removal;
        await new Promise((resolve) => setImmediate(resolve)); // the delete notification arrives first
        return snapshot;
      },
    };
    const live = new Set<string>();
    const watching = watchKind(slowList, 'k', (change: RegistryChange) => {
      if (change.type === 'put') live.add(change.record.id);
      else live.delete(change.id);
    });
    await new Promise((resolve) => setImmediate(resolve));
    await a.registry.remove('k', 'e1');
    removed();
    const subscription = await watching;
    assert.deepEqual([...live], []);
    await subscription.close();
    await a.close();
    await b.close();
  });
});
