/**
 * A map that forgets its oldest entries past `limit`: what a node remembers of recent work
 * (phase-two messages it applied, outcomes of its own transactions). Forgetting is safe: each
 * user falls back to the coordinator log on a miss.
 */
export class BoundedRecord<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
