import type { Logger } from 'pino';
import type { ChangeFeedStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { PluginScope } from '../context/plugin-scope.js';
import type { Deadlines } from '../util/deadlines.js';
import type { DataSync } from './types.js';

/** What the runtime gives the block (one per host). BASE DRAFT: the helper owns this file. */
export interface DataSyncEnv {
  store: ChangeFeedStore;
  codec: Codec;
  logger: Logger;
  deadlines: Deadlines;
  nodeId: string;
}

/** `context.dataSync` for one plugin. BASE STUB. */
export function createDataSync(
  env: DataSyncEnv,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): DataSync {
  void env;
  void scope;
  void report;
  return {};
}
