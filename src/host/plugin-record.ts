import type { ScopedContext } from '../context/types.js';
import { isPlugboardError } from '../errors/errors.js';
import type {
  LoadedPlugin,
  PluginHealth,
  PluginInfo,
  PluginState,
  RecordedError,
} from './types.js';

/** The host's mutable bookkeeping for one plugin; everything health() reports comes from here. */
export class PluginRecord {
  state: PluginState = 'pending';
  reason: string | undefined;
  error: RecordedError | undefined;
  level: number | undefined;
  activateStartedAt: number | undefined;
  activationMs: number | undefined;
  deactivateStartedAt: number | undefined;
  deactivationMs: number | undefined;
  unfinished: readonly string[] = [];
  /** Failed plugins that kept this one from starting (for a skipped plugin). */
  blockedBy: readonly string[] = [];
  /** The plugin's context; kept after release so health can show its (zero) holdings. */
  scoped: ScopedContext | undefined;

  constructor(readonly loaded: LoadedPlugin) {}

  get name(): string {
    return this.loaded.definition.name;
  }

  info(): PluginInfo {
    const { definition, source } = this.loaded;
    return Object.freeze({
      name: definition.name,
      version: definition.version,
      dependencies: definition.dependencies,
      permissions: definition.permissions,
      source,
      state: this.state,
    });
  }

  /** `openBreakers`: the circuit breakers it created that are open now (degraded while active). */
  health(openBreakers: readonly string[] = []): PluginHealth {
    return Object.freeze({
      name: this.name,
      version: this.loaded.definition.version,
      state: this.state,
      reason: this.reason,
      error: this.error,
      level: this.level,
      activateStartedAt: this.activateStartedAt,
      activationMs: this.activationMs,
      deactivateStartedAt: this.deactivateStartedAt,
      deactivationMs: this.deactivationMs,
      holdings: this.scoped?.holdings(),
      unfinished: this.unfinished,
      degraded: this.state === 'active' && openBreakers.length > 0,
      openBreakers: Object.freeze([...openBreakers]),
    });
  }
}

/** The code, name and message of an error, for health and lifecycle events. */
export function recordError(error: unknown): RecordedError {
  if (isPlugboardError(error))
    return { code: error.code, name: error.name, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? code : 'PB_UNKNOWN',
      name: error.name,
      message: error.message,
    };
  }
  return { code: 'PB_UNKNOWN', name: 'Error', message: String(error) };
}
