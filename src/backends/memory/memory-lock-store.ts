import type { LockStore } from '../ports.js';

/** State shared by every node of one in-process network (a server's worth). */
export class MemoryLockState {}

/** BASE STUB: replaced by the issue-9 helper that owns it. */
export class MemoryLockStore implements LockStore {
  constructor(
    readonly nodeId: string,
    readonly state: MemoryLockState,
  ) {}

  acquire(): never {
    throw new Error('TODO(issue 9): LockStore.acquire');
  }

  leave(): never {
    throw new Error('TODO(issue 9): LockStore.leave');
  }

  release(): never {
    throw new Error('TODO(issue 9): LockStore.release');
  }

  extend(): never {
    throw new Error('TODO(issue 9): LockStore.extend');
  }

  watch(): never {
    throw new Error('TODO(issue 9): LockStore.watch');
  }

  close(): void {}
}
