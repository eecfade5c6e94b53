import type { KeyUsageStore } from '../ports.js';

// BASE STUB (issue 11): per-instance state only; the encryption helper replaces this file.
export class MemoryKeyUsageStore implements KeyUsageStore {
  private readonly counts = new Map<string, number>();

  add(keyId: string, version: number, count: number): Promise<number> {
    const key = `${keyId}#${version}`;
    const total = (this.counts.get(key) ?? 0) + count;
    this.counts.set(key, total);
    return Promise.resolve(total);
  }

  close(): void {}
}
