import { describe } from 'node:test';
import type { HarnessFactory } from './harness.js';

/** The CacheStore port contract (see src/backends/ports.ts). BASE STUB: the cache helper fills it. */
export function cacheConformance(name: string, factory: HarnessFactory): void {
  void factory;
  describe(`CacheStore conformance: ${name}`, () => {});
}
