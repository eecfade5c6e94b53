import type { PolicyChange, PolicySnapshot, PolicyStore } from '../ports.js';
import { rejectClosed } from './closed.js';
import type { MemoryNetwork } from './memory-network.js';

/** The policy of one network: what every node of it reads and writes. */
interface PolicyState {
  readonly records: Map<string, Uint8Array>;
  revision: number;
}

/**
 * One policy per network, kept beside it (not on it: the network needs no field for a store
 * it never reads); a private network of a lone host has its own.
 */
const states = new WeakMap<MemoryNetwork, PolicyState>();

function stateOf(network: MemoryNetwork): PolicyState {
  let state = states.get(network);
  if (state === undefined) {
    state = { records: new Map(), revision: 0 };
    states.set(network, state);
  }
  return state;
}

/**
 * Permission policy on the memory backend: one record map and revision per
 * {@link MemoryNetwork}, so every node of a network reads what any of them wrote, at once (a
 * write is one synchronous step: atomic, as a script on Redis). Values are copied in and out,
 * so no caller can change stored bytes behind the store's back.
 */
export class MemoryPolicyStore implements PolicyStore {
  private readonly state: PolicyState;
  private closed = false;

  constructor(network: MemoryNetwork) {
    this.state = stateOf(network);
  }

  revision(): Promise<number> {
    if (this.closed) return rejectClosed();
    return Promise.resolve(this.state.revision);
  }

  snapshot(): Promise<PolicySnapshot> {
    if (this.closed) return rejectClosed();
    const records = [...this.state.records].map(([key, value]) => ({
      key,
      value: Uint8Array.from(value),
    }));
    return Promise.resolve({ revision: this.state.revision, records });
  }

  write(changes: readonly PolicyChange[], expected: number): Promise<number | undefined> {
    if (this.closed) return rejectClosed();
    if (this.state.revision !== expected) return Promise.resolve(undefined);
    for (const { key, value } of changes) {
      if (value === undefined) this.state.records.delete(key);
      else this.state.records.set(key, Uint8Array.from(value));
    }
    return Promise.resolve(++this.state.revision);
  }

  close(): void {
    this.closed = true;
  }
}
