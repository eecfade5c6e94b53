import type { AuditEntryInput } from '../../src/security/audit/types.js';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type {
  PluginContext,
  PluginHoldings,
  PluginIdentity,
  Runtime,
  ScopedContext,
} from '../../src/context/types.js';
import type { RuntimeFactory } from '../../src/host/plugin-host.js';

/** A silent logger for tests. */
export const silentLogger = pino({ level: 'silent' });

export interface FakeScoped extends ScopedContext {
  readonly identity: PluginIdentity;
  released: boolean;
  releaseBound: number | undefined;
}

/** A stand-in runtime that records what the host asks of it. */
export interface FakeRuntime extends Runtime {
  readonly published: { event: string; data: any }[];
  readonly scopes: Map<string, FakeScoped>;
  /** Order in which contexts were released. */
  readonly releases: string[];
  started: boolean;
  closed: boolean;
  /** What the host audited as itself. */
  audits: AuditEntryInput[];
}

export function fakeRuntimeFactory(
  options: { releaseDelay?: number; unfinished?: string[] } = {},
): {
  factory: RuntimeFactory;
  runtime: () => FakeRuntime;
} {
  let current: FakeRuntime | undefined;
  const factory: RuntimeFactory = ({ backend }) => {
    const published: FakeRuntime['published'] = [];
    const scopes = new Map<string, FakeScoped>();
    const releases: string[] = [];
    const runtime: FakeRuntime = {
      nodeId: backend.nodeId,
      backendKind: backend.kind,
      limits: {
        rpcTimeout: 10_000,
        handlerTimeout: 30_000,
        maxPayloadBytes: 1 << 20,
        maxInFlightCalls: 10_000,
      },
      durable: {} as Runtime['durable'],
      published,
      scopes,
      releases,
      started: false,
      closed: false,
      audits: [],
      auditAsHost(entry) {
        runtime.audits.push(entry);
      },
      start: async () => {
        await backend.start();
        runtime.started = true;
      },
      createContext(identity) {
        const controller = new AbortController();
        const holdings: PluginHoldings = {
          subscriptions: 1,
          registrations: 1,
          registryEntries: 0,
          timers: 1,
          background: 0,
          inFlight: 0,
          locks: 0,
          feedWatches: 0,
          cacheTiers: 0,
        };
        const context = {
          pluginId: identity.name,
          version: identity.version,
          nodeId: backend.nodeId,
          options: identity.options,
          logger: silentLogger.child({ plugin: identity.name }),
          signal: controller.signal,
        } as unknown as PluginContext;
        const scoped: FakeScoped = {
          identity,
          context,
          released: false,
          releaseBound: undefined,
          async release(timeoutMs) {
            scoped.released = true;
            scoped.releaseBound = timeoutMs;
            releases.push(identity.name);
            controller.abort();
            for (const key of Object.keys(holdings) as (keyof PluginHoldings)[]) holdings[key] = 0;
            if (options.releaseDelay !== undefined)
              await new Promise((r) => setTimeout(r, options.releaseDelay));
            return { unfinished: options.unfinished ?? [] };
          },
          holdings: () => ({ ...holdings }),
          idle: () => Promise.resolve(),
        };
        scopes.set(identity.name, scoped);
        return scoped;
      },
      stats: () => ({ subscriptions: 0, localProviders: 0, inFlightCalls: 0 }),
      publishAsHost: async (event, data) => {
        published.push({ event, data });
      },
      reportPluginError: async (pluginId, event, error) => {
        published.push({
          event: 'plugin.error',
          data: {
            pluginId,
            event,
            error: error instanceof Error ? error.message : String(error),
            code: (error as { code?: unknown } | null)?.code,
          },
        });
      },
      close: async () => {
        runtime.closed = true;
        await backend.close();
      },
    };
    current = runtime;
    return runtime;
  };
  return {
    factory,
    runtime: () => {
      if (current === undefined) throw new Error('runtime not created yet');
      return current;
    },
  };
}

/** A temporary folder removed by the returned cleanup. */
export async function tempDir(
  prefix = 'plugboard-host-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Write a folder plugin: package.json plus main file(s). */
export async function writePluginFolder(
  dir: string,
  pkg: Record<string, unknown>,
  files: Record<string, string> = { 'index.js': 'export default { async activate() {} };\n' },
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

/** A promise with its resolve function, for awaiting events instead of sleeping. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
