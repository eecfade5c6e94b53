import type { Logger } from 'pino';
import type { LockStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { PluginScope } from '../context/plugin-scope.js';
import type { Deadlines } from '../util/deadlines.js';
import type { LockService } from './types.js';

/** What the runtime gives the block (one per host). BASE DRAFT: the helper owns this file. */
export interface LockEnv {
  store: LockStore;
  codec: Codec;
  logger: Logger;
  deadlines: Deadlines;
  nodeId: string;
}

/** `context.lock` for one plugin. BASE STUB. */
export function createLockService(
  env: LockEnv,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): LockService {
  void env;
  void scope;
  void report;
  return {};
}
