import type { Logger } from 'pino';
import type { CacheStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { PluginScope } from '../context/plugin-scope.js';
import type { Deadlines } from '../util/deadlines.js';
import type { Cache } from './types.js';

/** What the runtime gives the block (one per host). BASE DRAFT: the helper owns this file. */
export interface CacheEnv {
  store: CacheStore;
  codec: Codec;
  logger: Logger;
  deadlines: Deadlines;
  nodeId: string;
  /** Largest encoded value, bytes (`createHost({ cache: { maxValueBytes } })`). */
  maxValueBytes: number;
}

/** `context.cache` for one plugin. BASE STUB. */
export function createCache(
  env: CacheEnv,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): Cache {
  void env;
  void scope;
  void report;
  return {};
}
