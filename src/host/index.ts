export { createHost } from './host.js';
export { definePlugin, isPluginDefinition } from './define-plugin.js';
export { loadPluginFromFolder, loadPluginsFromDirectory } from './manifest.js';
export { resolveDependencyGraph, type DependencyGraph } from './dependency-graph.js';
export { formatTimeline } from './timeline.js';
export type {
  Host,
  HostHealth,
  HostOptions,
  HostStatus,
  KeyProvider,
  LifecycleEvent,
  LoadedPlugin,
  PluginDefinition,
  PluginEntry,
  PluginHealth,
  PluginInfo,
  PluginSource,
  PluginSpec,
  PluginState,
  RecordedError,
  SemverRange,
  TimelineEntry,
} from './types.js';
