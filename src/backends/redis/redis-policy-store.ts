import type { PolicyStore } from '../ports.js';

// BASE STUB (issue 11): per-instance state only; the permissions helper replaces this file.
export class RedisPolicyStore implements PolicyStore {
  private readonly records = new Map<string, Uint8Array>();
  private rev = 0;

  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.records.get(key));
  }

  put(key: string, value: Uint8Array): Promise<number> {
    this.records.set(key, value);
    return Promise.resolve(++this.rev);
  }

  remove(key: string): Promise<number> {
    this.records.delete(key);
    return Promise.resolve(++this.rev);
  }

  list(): Promise<Array<{ key: string; value: Uint8Array }>> {
    return Promise.resolve([...this.records].map(([key, value]) => ({ key, value })));
  }

  revision(): Promise<number> {
    return Promise.resolve(this.rev);
  }

  close(): void {}
}
