import type { CacheStore } from '../ports.js';
import type { RedisStoreDeps } from './store-deps.js';

/** BASE STUB: replaced by the issue-9 helper that owns it. */
export class RedisCacheStore implements CacheStore {
  constructor(readonly deps: RedisStoreDeps) {}

  get(): never {
    throw new Error('TODO(issue 9): CacheStore.get');
  }

  set(): never {
    throw new Error('TODO(issue 9): CacheStore.set');
  }

  setIfVersion(): never {
    throw new Error('TODO(issue 9): CacheStore.setIfVersion');
  }

  delete(): never {
    throw new Error('TODO(issue 9): CacheStore.delete');
  }

  has(): never {
    throw new Error('TODO(issue 9): CacheStore.has');
  }

  expire(): never {
    throw new Error('TODO(issue 9): CacheStore.expire');
  }

  exec(): never {
    throw new Error('TODO(issue 9): CacheStore.exec');
  }

  watchInvalidations(): never {
    throw new Error('TODO(issue 9): CacheStore.watchInvalidations');
  }

  claimLoad(): never {
    throw new Error('TODO(issue 9): CacheStore.claimLoad');
  }

  releaseLoad(): never {
    throw new Error('TODO(issue 9): CacheStore.releaseLoad');
  }

  close(): void {}
}
