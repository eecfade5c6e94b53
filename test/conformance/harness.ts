import type { Backend } from '../../src/backends/ports.js';

/**
 * What a backend must provide to run the conformance suites: a way to create nodes of one
 * cluster and to crash one. Adding a backend means writing one of these and passing the suites.
 */
export interface BackendHarness {
  /** A backend for a new node of the shared cluster, not yet started. */
  create(nodeId?: string): Promise<Backend>;
  /** Kill a node as `kill -9` would: no graceful leave; liveness expiry must clean up after it. */
  crash(backend: Backend): Promise<void>;
  /** Upper bound, ms, for a crashed node's entries to disappear. */
  readonly livenessMs: number;
  /** Close whatever the harness created. */
  cleanup(): Promise<void>;
}

export type HarnessFactory = () => Promise<BackendHarness>;

/** Resolve when `predicate` holds (polled every few ms); reject after `ms` naming `what`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
