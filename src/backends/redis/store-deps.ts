import type { Logger } from 'pino';
import type { Deadlines } from '../../util/deadlines.js';
import type { ByteBudget } from './byte-budget.js';
import type { CommandRunner } from './connection.js';
import type { BackendFaults } from './faults.js';
import type { RedisKeys } from './keys.js';
import type { RedisSettings } from './options.js';
import type { LuaScript, ScriptName } from './scripts.js';
import type { SubscriptionHub } from './subscriptions.js';

/** What the Redis backend hands each of its stores (the cache, lock and feed stores). */
export interface RedisStoreDeps {
  readonly nodeId: string;
  readonly keys: RedisKeys;
  /** The commands connection. */
  readonly runner: CommandRunner;
  /** Channel subscriptions over the subscriber connection. */
  readonly hub: SubscriptionHub;
  readonly scripts: Record<ScriptName, LuaScript>;
  readonly settings: RedisSettings;
  readonly logger: Logger;
  readonly faults: BackendFaults;
  /** Operation deadlines (never keep the process alive). */
  readonly deadlines: Deadlines;
  /** The backend's one bound on bytes held for Redis (payloads written and not answered). */
  readonly budget: ByteBudget;
}
