import type { KeyUsageStore } from '../ports.js';
import { rejectClosed } from './closed.js';

/**
 * The cluster-wide counts of one memory network: `<version>:<key id>` → encryptions. One entry
 * per key version ever used by the network's hosts (keys come from configuration or a
 * provider, so their number is the operator's), as in the Redis hash.
 */
export class MemoryKeyUsageState {
  private readonly counts = new Map<string, number>();

  add(keyId: string, version: number, count: number): number {
    const slot = `${version}:${keyId}`;
    const total = (this.counts.get(slot) ?? 0) + count;
    this.counts.set(slot, total);
    return total;
  }
}

/** {@link KeyUsageStore} over the network's shared {@link MemoryKeyUsageState}. */
export class MemoryKeyUsageStore implements KeyUsageStore {
  private closed = false;

  constructor(private readonly state: MemoryKeyUsageState) {}

  add(keyId: string, version: number, count: number): Promise<number> {
    if (this.closed) return rejectClosed();
    return Promise.resolve(this.state.add(keyId, version, count));
  }

  close(): void {
    this.closed = true;
  }
}
