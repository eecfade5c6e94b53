import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Backend } from '../../../src/backends/ports.js';
import type { RedisBackendOption } from '../../../src/backends/redis/options.js';
import { createRedisBackend } from '../../../src/backends/redis/index.js';

/** The shared Redis of plain tests; fault tests use their own throwaway server. */
export const SHARED_REDIS_URL = process.env['PLUGBOARD_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';

/** A namespace no other test uses. */
export function uniqueNamespace(label = 't'): string {
  return `pbtest-${label}-${randomBytes(5).toString('hex')}`;
}

/** Log lines a test can inspect. */
export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: Array<{ level: number; msg: string; [key: string]: unknown }>;
}

/** A pino logger that records lines in memory instead of printing them. */
export function captureLogger(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        lines.push(JSON.parse(line));
      },
    },
  );
  return { logger, lines };
}

let counter = 0;

/** Create and start a Redis backend with a fresh node id. */
export async function startBackend(
  option: RedisBackendOption,
  nodeId = `node-${++counter}-${randomBytes(3).toString('hex')}`,
  logger: Logger = captureLogger().logger,
): Promise<Backend> {
  const backend = await createRedisBackend(option, { nodeId, logger });
  await backend.start();
  return backend;
}

/** Delete every key of a namespace (never FLUSHDB: the server may be shared). */
export async function deleteNamespace(url: string, namespace: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    // Namespace-wide keys, then every queue's keys (their own hash tag, `{ns:q:<queue>}`), the change
    // feeds (`{ns:f:<collection>}`), the locks (`{ns:l:<resource>}`), the transaction log
    // partitions (`{ns:tx:<p>}`), then
    // the shared cache's entries and load leases (no hash tag: `ns:c:<key>`, `ns:cl:<key>`).
    for (const match of [
      `{${namespace}}:*`,
      `{${namespace}:q:*`,
      `${namespace}:c:*`,
      `${namespace}:cl:*`,
      `{${namespace}:f:*`,
      `{${namespace}:l:*`,
      `{${namespace}:tx:*`,
    ]) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

/** Wait until `check` returns true, polling every 10 ms; rejects after `timeout`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeout = 3000,
  what = 'condition',
): Promise<void> {
  const giveUp = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > giveUp) throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Bytes from a string, and back. */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/**
 * Report a figure a test measured, as one TAP diagnostic line `figure: <name> = <value> <unit>`.
 * Figures are printed for people (docs/fault-tests.md collects them); no test asserts on speed.
 */
export function figure(t: TestContext, name: string, value: number | string, unit = ''): void {
  t.diagnostic(`figure: ${name} = ${value}${unit === '' ? '' : ` ${unit}`}`);
}
