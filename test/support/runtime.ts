import pino from 'pino';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createRuntime, type RuntimeOptions } from '../../src/context/runtime.js';
import type {
  PluginContext,
  Runtime,
  RuntimeLimits,
  ScopedContext,
} from '../../src/context/types.js';

export const silentLogger = pino({ level: 'silent' });

export interface TestRuntime {
  runtime: Runtime;
  /** A context for a plugin of that name (created on first use). */
  ctx(name: string): PluginContext;
  scoped(name: string): ScopedContext;
  close(): Promise<void>;
}

let nodeCounter = 0;

/** A real runtime over a real memory backend (alone, or on a shared network). */
export async function startRuntime(
  options: {
    network?: MemoryNetwork;
    nodeId?: string;
    limits?: Partial<RuntimeLimits>;
    transactions?: RuntimeOptions['transactions'];
    /** Adjust the backend before the runtime is built over it (e.g. swap a store). */
    prepare?: (backend: MemoryBackend) => void;
  } = {},
): Promise<TestRuntime> {
  const nodeId = options.nodeId ?? `node-${++nodeCounter}`;
  const backend = new MemoryBackend({
    nodeId,
    ...(options.network ? { network: options.network } : {}),
  });
  options.prepare?.(backend);
  const runtime = createRuntime({
    backend,
    logger: silentLogger,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.transactions ? { transactions: options.transactions } : {}),
  });
  await runtime.start();
  const scopes = new Map<string, ScopedContext>();
  const scoped = (name: string): ScopedContext => {
    let s = scopes.get(name);
    if (s === undefined) {
      s = runtime.createContext({ name, version: '1.0.0', permissions: undefined, options: {} });
      scopes.set(name, s);
    }
    return s;
  };
  return {
    runtime,
    scoped,
    ctx: (name) => scoped(name).context,
    async close() {
      for (const s of scopes.values()) await s.release(1000);
      await runtime.close();
    },
  };
}

/** Resolve when `predicate` holds, polling on each macrotask; reject after `ms`. */
export async function eventually(
  predicate: () => boolean,
  ms = 2000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
