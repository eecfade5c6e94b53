import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, type Redis } from 'ioredis';
import { BackendUnavailableError } from '../../errors/errors.js';
import type { CommandCaller, CommandRunner } from './connection.js';
import { corkForTick } from './tick-cork.js';

/**
 * The Lua scripts of the Redis backend, one per atomic transition, each in
 * `scripts/<verb-noun>-<nkeys>.lua` with a header listing its KEYS, ARGV and returns. Code
 * shared by several scripts (the clock, liveness, the lease check, entry parsing, key types)
 * lives in `scripts/include/*.lua` and is pulled in by a `--!include <file>` line, expanded
 * at load (see {@link expandIncludes}), so each script's SHA1 covers what Redis runs.
 */
const SCRIPT_FILES = {
  refreshNode: 'refresh-node-1.lua',
  putEntry: 'put-entry-4.lua',
  removeEntry: 'remove-entry-3.lua',
  removeNode: 'remove-node-2.lua',
  listLapsedNodes: 'list-lapsed-nodes-1.lua',
  removeOwnedEntries: 'remove-owned-entries-4.lua',
  listEntries: 'list-entries-3.lua',
  listNodes: 'list-nodes-1.lua',
  enqueueMessages: 'enqueue-messages-9.lua',
  claimMessages: 'claim-messages-12.lua',
  ackMessages: 'ack-messages-4.lua',
  releaseMessage: 'release-message-5.lua',
  extendLease: 'extend-lease-2.lua',
  deadLetterMessage: 'dead-letter-message-5.lua',
  removeMessage: 'remove-message-6.lua',
  countMessages: 'count-messages-5.lua',
  queueActivity: 'queue-activity-6.lua',
  bindQueue: 'bind-queue-1.lua',
  unbindQueue: 'unbind-queue-1.lua',
  unbindAll: 'unbind-all-1.lua',
  listDeadLetters: 'list-dead-letters-4.lua',
  removeDeadLetter: 'remove-dead-letter-4.lua',
  retryDeadLetters: 'retry-dead-letters-4.lua',
  purgeDeadLetters: 'purge-dead-letters-4.lua',
  repairQueueKeys: 'repair-queue-keys-9.lua',
  appendChange: 'append-change-2.lua',
  feedSeqBefore: 'feed-seq-before-1.lua',
  cacheSetIfVersion: 'cache-set-if-version-1.lua',
  cacheExec: 'cache-exec-0.lua',
  cacheReleaseLoad: 'cache-release-load-1.lua',
  acquireLock: 'acquire-lock-4.lua',
  releaseLock: 'release-lock-3.lua',
  extendLock: 'extend-lock-2.lua',
  leaveLockLine: 'leave-lock-line-3.lua',
  openTx: 'open-tx-3.lua',
  decideTx: 'decide-tx-2.lua',
  markTxDone: 'mark-tx-done-1.lua',
  finishTx: 'finish-tx-3.lua',
  renewTx: 'renew-tx-2.lua',
  listLapsedTx: 'lapsed-tx-1.lua',
  claimTx: 'claim-tx-2.lua',
  dropTxMember: 'drop-tx-member-2.lua',
  readPolicy: 'read-policy-2.lua',
  writePolicy: 'write-policy-2.lua',
  appendAudit: 'append-audit-2.lua',
  trimAudit: 'trim-audit-2.lua',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

/** A loaded script: its source and SHA1 (scripts are addressed by content, so two versions never mix). */
export interface LuaScript {
  readonly name: ScriptName;
  readonly file: string;
  readonly keys: number;
  /**
   * Takes more keys after its `keys` declared ones (its header lists them as `KEYS[n..]`): keys
   * that depend on the call, e.g. one dedup key per message of an enqueued batch.
   */
  readonly variadic: boolean;
  readonly source: string;
  readonly sha: string;
}

let cache: Record<ScriptName, LuaScript> | undefined;

/** Read every script once per process, next to this module (works from `src/` and `dist/`). */
export function loadScripts(): Record<ScriptName, LuaScript> {
  if (cache !== undefined) return cache;
  const loaded = {} as Record<ScriptName, LuaScript>;
  for (const name of Object.keys(SCRIPT_FILES) as ScriptName[]) {
    const file = SCRIPT_FILES[name];
    const source = expandIncludes(readScript(file));
    const keys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
    loaded[name] = {
      name,
      file,
      keys,
      variadic: new RegExp(`^\\s*KEYS\\[${keys + 1}\\.\\.\\]`, 'm').test(source),
      source,
      sha: createHash('sha1').update(source).digest('hex'),
    };
  }
  cache = loaded;
  return loaded;
}

function readScript(path: string): string {
  return readFileSync(new URL(`./scripts/${path}`, import.meta.url), 'utf8');
}

const INCLUDE = /^--!include ([\w.-]+\.lua)[ \t]*$/gm;

/**
 * Replace every `--!include <file>` line of `source` with `scripts/include/<file>`, itself
 * expanded. A file already included is not included again (includes may include each other).
 * @throws Error for an include that does not exist (a packaging mistake, found at load).
 */
export function expandIncludes(
  source: string,
  read: (path: string) => string = readScript,
  seen = new Set<string>(),
): string {
  return source.replace(INCLUDE, (_line, file: string) => {
    if (seen.has(file)) return `-- (${file} already included)`;
    seen.add(file);
    return expandIncludes(read(`include/${file}`), read, seen).trimEnd();
  });
}

/**
 * Run a script with EVALSHA. When Redis answers NOSCRIPT (first use, or after a restart,
 * failover or `SCRIPT FLUSH`), the script is loaded once with SCRIPT LOAD, shared by every
 * caller that met the NOSCRIPT meanwhile (see {@link loadOnce}), and each runs EVALSHA again,
 * unless it gave up meanwhile (`caller.waiting` false: then nothing ran and nothing will).
 * Should the cache be flushed again between the load and the retry, the retry falls back to
 * EVAL with the full source, so a caller makes progress whatever the server does.
 * Replies keep binary strings as Buffers.
 */
export async function evalScript(
  client: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | Buffer | number)[],
  caller?: CommandCaller,
): Promise<unknown> {
  if (script.variadic ? keys.length < script.keys : keys.length !== script.keys)
    throw new Error(`${script.file} takes ${script.keys} keys, got ${keys.length}.`);
  const rest = [keys.length, ...keys, ...args];
  try {
    return await rawCommand(client, 'evalsha', [script.sha, ...rest]);
  } catch (error) {
    if (!isNoScript(error) || (caller !== undefined && !caller.waiting)) throw error;
  }
  await loadOnce(client, script);
  if (caller !== undefined && !caller.waiting) throw noScriptGaveUp(script);
  try {
    return await rawCommand(client, 'evalsha', [script.sha, ...rest]);
  } catch (error) {
    if (!isNoScript(error) || (caller !== undefined && !caller.waiting)) throw error;
    return rawCommand(client, 'eval', [script.source, ...rest]);
  }
}

/**
 * Run a script through `runner` on the lean one-command path (one promise, one deadline, no
 * closure per step). A NOSCRIPT reply (first use, or after a restart or flush: nothing ran)
 * takes the general path ({@link evalScript}: load once, run again) within the same deadline.
 * `keysAndArgs`: the script's `nkeys` keys, then its arguments, in one array built by the caller.
 */
export function sendScript(
  runner: CommandRunner,
  script: LuaScript,
  what: string,
  nkeys: number,
  keysAndArgs: (string | number)[],
): Promise<unknown> {
  const deadline = Date.now() + runner.operationTimeout;
  return runner
    .send(what, 'evalsha', [script.sha, nkeys, ...keysAndArgs])
    .catch((error: unknown) => {
      // The runner wraps Redis's reply error: the NOSCRIPT is its cause.
      if (!isNoScript(error instanceof Error ? error.cause : undefined)) throw error;
      const keys = keysAndArgs.slice(0, nkeys) as string[];
      const args = keysAndArgs.slice(nkeys);
      return runner.run(
        what,
        (client, caller) => evalScript(client, script, keys, args, caller),
        deadline,
      );
    });
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function noScriptGaveUp(script: LuaScript): Error {
  return new Error(
    `NOSCRIPT ${script.file} was not cached by Redis; the caller gave up meanwhile.`,
  );
}

/** SCRIPT LOADs in flight, per client and script SHA. */
const loading = new WeakMap<Redis, Map<string, Promise<unknown>>>();

/**
 * Load `script` into Redis's script cache, once for all concurrent callers on `client`: after
 * a restart every caller meets NOSCRIPT at about the same time, and each sending the full
 * source with EVAL (kilobytes, compiled by Redis each time) would be a storm. The load is
 * forgotten once settled, so a later flush triggers a new one.
 */
function loadOnce(client: Redis, script: LuaScript): Promise<unknown> {
  let byScript = loading.get(client);
  if (byScript === undefined) loading.set(client, (byScript = new Map<string, Promise<unknown>>()));
  const running = byScript.get(script.sha);
  if (running !== undefined) return running;
  const scripts = byScript;
  const load = rawCommand(client, 'script', ['load', script.source]).finally(() =>
    scripts.delete(script.sha),
  );
  scripts.set(script.sha, load);
  return load;
}

/**
 * One command with binary replies, written at once: not through ioredis's auto-pipelining
 * (which defers it to the next macrotask, and runs one pipeline at a time per connection, each
 * waiting for the previous one's replies; `callBuffer` also loses its command name there).
 * The commands of one tick still leave together: the socket is corked until the next tick
 * ({@link corkForTick}). Only for use inside a `runner.run` callback, with the client the
 * runner hands over.
 */
export function rawCommand(
  client: Redis,
  name: string,
  args: (string | Buffer | number)[],
): Promise<unknown> {
  corkForTick(client);
  // eslint-disable-next-line plugboard/redis-commands-through-runner -- see above
  return client.sendCommand(new Command(name, args, { replyEncoding: null })) as Promise<unknown>;
}

/** Negative return codes of the scripts (see each script's header). */
export const SCRIPT_CODES = {
  /** put-entry: the node is not live (reaped, or Redis lost its data); refresh it and retry. */
  nodeNotLive: -1,
  /** put-entry: stored, after replacing a key of the wrong type (corrupt or forged state). */
  replacedWrongType: 2,
} as const;

/** The one place where a script's negative return code becomes a typed error. */
export function scriptError(
  script: LuaScript,
  code: number,
  details: Record<string, unknown> = {},
): Error {
  switch (code) {
    case SCRIPT_CODES.nodeNotLive:
      return new BackendUnavailableError(
        `This node is not live in the Redis registry (${script.file}); it rejoins on its next heartbeat, retry then.`,
        { details: { ...details, script: script.file, code } },
      );
    default:
      return new BackendUnavailableError(`Script ${script.file} failed with code ${code}.`, {
        details: { ...details, script: script.file, code },
      });
  }
}
