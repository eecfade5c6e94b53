export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js';
export { MemoryNetwork, createMemoryNetwork, type MemoryNetworkOptions } from './memory-network.js';
