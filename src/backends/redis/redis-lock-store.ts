import type { LockStore } from '../ports.js';
import type { RedisStoreDeps } from './store-deps.js';

/** BASE STUB: replaced by the issue-9 helper that owns it. */
export class RedisLockStore implements LockStore {
  constructor(readonly deps: RedisStoreDeps) {}

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
