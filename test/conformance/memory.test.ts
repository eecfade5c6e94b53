import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { Backend } from '../../src/backends/ports.js';
import { clusterConformance } from './cluster.js';
import type { HarnessFactory } from './harness.js';
import { queueConformance } from './queue.js';
import { registryConformance } from './registry.js';
import { rpcConformance } from './rpc.js';
import { transportConformance } from './transport.js';
import { transportFlowConformance } from './transport-flow.js';

let counter = 0;

const memory: HarnessFactory = async () => {
  const network = new MemoryNetwork();
  const created: Backend[] = [];
  return {
    livenessMs: 100,
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
transportFlowConformance('memory', memory);
registryConformance('memory', memory);
queueConformance('memory', memory);
clusterConformance('memory', memory);
rpcConformance('memory', memory);
