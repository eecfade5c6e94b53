import { describe } from 'node:test';
import type { HarnessFactory } from './harness.js';

/** The LockStore port contract (see src/backends/ports.ts). BASE STUB: the lock helper fills it. */
export function lockConformance(name: string, factory: HarnessFactory): void {
  void factory;
  describe(`LockStore conformance: ${name}`, () => {});
}
