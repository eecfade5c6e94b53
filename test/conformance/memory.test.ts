import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { Backend } from '../../src/backends/ports.js';
import { clusterConformance } from './cluster.js';
import type { HarnessFactory } from './harness.js';
import { queueConformance } from './queue.js';
import { registryConformance } from './registry.js';
import { transportConformance } from './transport.js';

let counter = 0;
/** Short, so crash tests are quick; the real default is 10 s, as on Redis. */
const LIVENESS_TTL = 150;

const memory: HarnessFactory = async () => {
  const network = new MemoryNetwork({ livenessTtl: LIVENESS_TTL });
  const created: Backend[] = [];
  return {
    // A crashed node's entries lapse after the TTL (one timer, no reap interval).
    livenessMs: LIVENESS_TTL,
    create: async (nodeId) => {
      const backend = new MemoryBackend({ nodeId: nodeId ?? `mem-${++counter}`, network });
      created.push(backend);
      return backend;
    },
    crash: async (backend) => network.crash(backend.nodeId),
    cleanup: async () => {
      await Promise.all(created.map((b) => b.close()));
    },
  };
};

transportConformance('memory', memory);
registryConformance('memory', memory);
queueConformance('memory', memory);
clusterConformance('memory', memory);
