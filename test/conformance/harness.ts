import { describe } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, Runtime, ScopedContext } from '../../src/context/types.js';
import { silentLogger } from '../support/runtime.js';

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

/** A runtime on one node of a harness's cluster, with plugin contexts made on first use. */
export interface ClusterNode {
  backend: Backend;
  runtime: Runtime;
  /** The context of plugin `name` on this node (created once). */
  plugin(name: string): PluginContext;
  /** The same plugin's scoped context (to release it as a stopping plugin would). */
  scoped(name: string): ScopedContext;
}

/** Start a node of `harness`'s cluster with a runtime whose RPC deadline is `rpcTimeout`. */
export async function startClusterNode(
  harness: BackendHarness,
  rpcTimeout: number,
): Promise<ClusterNode> {
  const backend = await harness.create();
  const runtime = createRuntime({
    backend,
    logger: silentLogger,
    limits: { rpcTimeout, maxPayloadBytes: 64 * 1024 },
  });
  await runtime.start();
  const scopes = new Map<string, ScopedContext>();
  const scoped = (name: string): ScopedContext => {
    let scope = scopes.get(name);
    if (scope === undefined) {
      scope = runtime.createContext({
        name,
        version: '1.0.0',
        permissions: undefined,
        options: {},
      });
      scopes.set(name, scope);
    }
    return scope;
  };
  return { backend, runtime, scoped, plugin: (name) => scoped(name).context };
}

/**
 * Register conformance suites that run side by side: each harness is independent (a network or
 * namespace of its own) and most of a suite's time goes to waiting on timers and leases. Three
 * at a time: with more, the suites' polling delays the short leases, TTLs and due times (40-400
 * ms) that their tests time. Each suite's own tests still run one after another (they share the
 * suite's nodes).
 */
export function sideBySide(title: string, suites: Record<string, () => void>): void {
  void describe(title, { concurrency: 3 }, () => {
    for (const [name, register] of Object.entries(suites))
      void describe(name, { concurrency: false }, register);
  });
}
