import { describe } from 'node:test';
import type { HarnessFactory } from './harness.js';

/** The ChangeFeedStore port contract (see src/backends/ports.ts). BASE STUB: the data-sync helper fills it. */
export function feedConformance(name: string, factory: HarnessFactory): void {
  void factory;
  describe(`ChangeFeedStore conformance: ${name}`, () => {});
}
