import type { MemoryNetwork } from './memory-network.js';
import type {
  PortSubscription,
  RegistryListener,
  RegistryRecord,
  RegistryStore,
} from '../ports.js';
import { rejectClosed } from './closed.js';

/** The registry port over a {@link MemoryNetwork}. */
export class MemoryRegistryStore implements RegistryStore {
  private closed = false;

  constructor(
    private readonly nodeId: string,
    private readonly network: MemoryNetwork,
  ) {}

  put(kind: string, id: string, value: Uint8Array): Promise<void> {
    // A crashed node is a dead process: nothing it still tries to write may land.
    if (this.closed || this.network.crashed(this.nodeId)) return rejectClosed();
    this.network.putRecord({ kind, id, nodeId: this.nodeId, value: value.slice() });
    return Promise.resolve();
  }

  remove(kind: string, id: string): Promise<void> {
    if (this.closed || this.network.crashed(this.nodeId)) return rejectClosed();
    this.network.removeRecord(kind, id, this.nodeId);
    return Promise.resolve();
  }

  list(kind: string): Promise<RegistryRecord[]> {
    if (this.closed) return rejectClosed();
    return Promise.resolve(this.network.listRecords(kind));
  }

  watch(kind: string, listener: RegistryListener): Promise<PortSubscription> {
    if (this.closed) return rejectClosed();
    const stop = this.network.watch(kind, listener);
    return Promise.resolve({
      close: () => {
        stop();
        return Promise.resolve();
      },
    });
  }

  liveNodes(): Promise<string[]> {
    if (this.closed) return rejectClosed();
    return Promise.resolve(this.network.liveNodes());
  }

  close(): void {
    this.closed = true;
  }
}
