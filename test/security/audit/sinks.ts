import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MemoryBackend } from '../../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../../src/backends/memory/memory-network.js';
import type { Backend } from '../../../src/backends/ports.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import { AuditCore } from '../../../src/security/audit/audit-core.js';
import type { AuditOptions } from '../../../src/security/audit/types.js';
import { silentLogger } from '../../support/runtime.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
} from '../../backends/redis/support.js';

/** A stored record as a tamperer sees it, in stored order (`cp`: the file's checkpoint field). */
export interface RawRecord {
  seq: number;
  hash: string;
  entry: string;
  cp?: unknown;
}

/** One audit log on one sink: cores over it (each a fresh "host"), and raw access to its storage. */
export interface Sink {
  /** A new core (another host's view: it has not seen what was written before). */
  core(options?: AuditOptions): Promise<AuditCore>;
  /** The stored records, raw. */
  read(): Promise<RawRecord[]>;
  /** Replace the stored records (and, when given, the checkpoint bytes) behind the cores' back. */
  write(records: RawRecord[], checkpoint?: Uint8Array): Promise<void>;
  cleanup(): Promise<void>;
}

export type SinkFactory = () => Promise<Sink>;

export const KEY = 'audit-test-checkpoint-key-0123456789abcdef';

/** A host's audit core over `backend` (no host around it). */
const coreOn = (backend: Backend, options: AuditOptions): AuditCore =>
  new AuditCore({ store: backend.audit, logger: silentLogger, nodeId: backend.nodeId, options });

/** Memory: the network's shared state. */
export const memorySink: SinkFactory = async () => {
  const network = new MemoryNetwork();
  const backends: Backend[] = [];
  let n = 0;
  return {
    async core(options = { checkpointKey: KEY }) {
      const backend = new MemoryBackend({ nodeId: `m${++n}`, network });
      backends.push(backend);
      await backend.start();
      return coreOn(backend, options);
    },
    async read() {
      return network.auditLog.records.map((r) => ({
        seq: r.seq,
        hash: r.hash,
        entry: Buffer.from(r.entry).toString(),
      }));
    },
    async write(records, checkpoint) {
      network.auditLog.records.length = 0;
      network.auditLog.records.push(
        ...records.map((r) => ({ seq: r.seq, hash: r.hash, entry: Buffer.from(r.entry) })),
      );
      if (checkpoint !== undefined) network.auditLog.checkpoint = checkpoint;
    },
    async cleanup() {
      await Promise.all(backends.map((b) => b.close()));
    },
  };
};

/**
 * The JSON-lines file: each core is a host started after the previous one stopped (the file is
 * read at open); tampering edits the file between them.
 */
export const fileSink: SinkFactory = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pb-audit-'));
  const path = join(dir, 'audit.log');
  let current: { backend: Backend; core: AuditCore } | undefined;
  let n = 0;
  const stop = async (): Promise<void> => {
    await current?.core.close();
    await current?.backend.close();
    current = undefined;
  };
  return {
    async core(options = { checkpointKey: KEY }) {
      await stop();
      const backend = new MemoryBackend({ nodeId: `f${++n}`, auditLog: path });
      await backend.start();
      const core = coreOn(backend, options);
      current = { backend, core };
      return core;
    },
    async read() {
      await stop();
      const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
      return lines.map((line) => {
        const parsed = JSON.parse(line) as {
          seq: number;
          hash: string;
          entry: unknown;
          cp?: unknown;
        };
        return {
          seq: parsed.seq,
          hash: parsed.hash,
          entry: JSON.stringify(parsed.entry),
          cp: parsed.cp,
        };
      });
    },
    async write(records, checkpoint) {
      await stop();
      const lines = records.map(
        (r) =>
          `{"seq":${r.seq},"hash":${JSON.stringify(r.hash)},"entry":${r.entry}${r.cp === undefined ? '' : `,"cp":${JSON.stringify(r.cp)}`}}\n`,
      );
      await writeFile(path, lines.join(''));
      if (checkpoint !== undefined) await writeFile(`${path}.head`, checkpoint);
    },
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/** Redis: the namespace's two hashes, edited with plain commands. */
export const redisSink: SinkFactory = async () => {
  const namespace = uniqueNamespace('audit');
  const keys = createKeys(namespace).audit;
  const client = new Redis(SHARED_REDIS_URL);
  const backends: Backend[] = [];
  return {
    async core(options = { checkpointKey: KEY }) {
      const backend = await startBackend({ redis: SHARED_REDIS_URL, namespace });
      backends.push(backend);
      return coreOn(backend, options);
    },
    async read() {
      const all = await client.hgetallBuffer(keys.records);
      return Object.entries(all)
        .map(([seq, value]) => ({
          seq: Number(seq),
          hash: value.toString('latin1', 0, 64),
          entry: value.subarray(64).toString(),
        }))
        .sort((a, b) => a.seq - b.seq);
    },
    async write(records, checkpoint) {
      await client.del(keys.records);
      for (const r of records) await client.hset(keys.records, String(r.seq), r.hash + r.entry);
      // A careful tamperer moves the head along with the records.
      const last = records.at(-1);
      if (last !== undefined) await client.hset(keys.head, 's', last.seq, 'h', last.hash);
      if (checkpoint !== undefined) await client.hset(keys.head, 'c', Buffer.from(checkpoint));
    },
    async cleanup() {
      await Promise.all(backends.map((b) => b.close()));
      client.disconnect();
      await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
};

export const SINKS: ReadonlyArray<readonly [string, SinkFactory]> = [
  ['memory', memorySink],
  ['file', fileSink],
  ['redis', redisSink],
];
