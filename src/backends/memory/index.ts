export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js';
export { MemoryNetwork, createMemoryNetwork } from './memory-network.js';
