import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { Backend } from '../../src/backends/ports.js';
import { dataSyncSuite } from './suite.js';

let counter = 0;

dataSyncSuite('memory', async () => {
  const network = new MemoryNetwork();
  const created: Backend[] = [];
  return {
    create: async () => {
      const backend = new MemoryBackend({ nodeId: `sync-${++counter}`, network });
      created.push(backend);
      return backend;
    },
    cleanup: async () => {
      await Promise.all(created.map((b) => b.close()));
    },
  };
});
