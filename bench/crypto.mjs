// encryptionService throughput: encrypt and decrypt of a 100 B and a 10 KB value through a
// plugin's context (codec, keyring, nonce, AES-256-GCM, envelope text), one at a time, beside
// the bare Node cipher on the same bytes (createCipheriv per message, no codec, no envelope).
// Usage: node bench/crypto.mjs [ops=50000]   (needs `npm run build`)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { startPlugboard } from './lib/plugboard.mjs';

const N = Number(process.argv[2] ?? 50_000);
const keyId = 'data-encryption-key';
const key = randomBytes(32);
const { ctx, close } = await startPlugboard(['vault'], {
  logLevel: 'warn',
  keys: { [keyId]: key.toString('base64') },
});
const crypto = ctx.vault.encryptionService;

// Wall-clock ops/s, and CPU µs per op (user + system time of this process: far less sensitive
// to other load on the machine).
function rate(label, ops, ms, cpuMicros) {
  console.log(
    `${label.padEnd(34)} ${(ops / (ms / 1000)).toFixed(0).padStart(8)} ops/s  ${((ms * 1000) / ops).toFixed(2).padStart(7)} µs/op wall  ${(cpuMicros / ops).toFixed(2).padStart(7)} µs/op cpu`,
  );
}

async function time(label, ops, run) {
  for (let i = 0; i < Math.min(2000, ops); i++) await run(i); // warm-up
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < ops; i++) await run(i);
  const used = process.cpuUsage(cpu);
  rate(label, ops, performance.now() - start, used.user + used.system);
}

for (const [name, size] of [
  ['100 B', 100],
  ['10 KB', 10 * 1024],
]) {
  const value = 'x'.repeat(size - 3); // a string encodes as 3 header bytes + its text
  const ops = size > 1000 ? Math.ceil(N / 5) : N;
  const sealed = await crypto.encrypt(value, 'AES-256-GCM', { keyId });
  await time(`encrypt ${name}`, ops, () => crypto.encrypt(value, 'AES-256-GCM', { keyId }));
  await time(`decrypt ${name}`, ops, () => crypto.decrypt(sealed, 'AES-256-GCM', { keyId }));
  const bytes = Buffer.from(value);
  const iv = randomBytes(12);
  await time(`bare aes-256-gcm seal ${name}`, ops, () => {
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
    c.update(bytes);
    c.final();
    c.getAuthTag();
  });
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(bytes), c.final()]);
  const tag = c.getAuthTag();
  await time(`bare aes-256-gcm open ${name}`, ops, () => {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  });
}
await close();
process.exit(0);
