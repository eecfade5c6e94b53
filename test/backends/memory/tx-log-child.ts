/**
 * A host process for the file-log crash test: writes what it is told to the log at argv[2], tells
 * the parent (IPC) once each write resolved, then idles until it is killed.
 */
import { MemoryBackend } from '../../../src/backends/memory/memory-backend.js';

const file = process.argv[2]!;
const count = Number(process.argv[3] ?? '1');
const backend = new MemoryBackend({ nodeId: 'child', transactionLog: file });
await backend.start();
const log = backend.transactions;
for (let i = 0; i < count; i++) {
  const id = `crash-${i}`;
  await log.open(id, 'child', [{ resource: 'r', work: new Uint8Array([i & 0xff, 1, 2]) }], 60_000);
  await log.decide(id, i % 2 === 0 ? 'commit' : 'abort', i % 2 === 0 ? [] : ['no']);
  process.send!({ written: id });
}
// Keep running (holding the lock) until SIGKILL.
setInterval(() => undefined, 60_000);
