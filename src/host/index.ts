// The host's public face. Loaders and the graph resolver stay internal: `createHost` accepts
// folder paths and `pluginDirectory`, and `health()` exposes the resolved levels.
export { createHost } from './host.js';
export { definePlugin } from './define-plugin.js';
export { formatTimeline } from './timeline.js';
export type {
  Host,
  HostEvents,
  HostHealth,
  HostOptions,
  HostStatus,
  EncryptionOptions,
  KeyConfig,
  KeyMaterial,
  KeyProvider,
  VersionedKey,
  LifecycleEvent,
  LogLevel,
  PluginDefinition,
  PluginEntry,
  PluginHealth,
  PluginInfo,
  PluginSource,
  PluginSpec,
  PluginState,
  RecordedError,
  SemverRange,
  StartResult,
  ReloadResult,
  TimelineEntry,
  UnhandledRejectionPolicy,
} from './types.js';
