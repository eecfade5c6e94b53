// A peer process of a multi-process scenario (see lib/remote.mjs).
// Usage (forked by startPeer): node bench/peer.mjs <scenario> <role> <json options>
// Runs `scenario.peers[role](options, link)`, which resolves with `{ [cmd]: async (args) => value }`
// (a `stop` command, if given, runs before the process exits). `link.send(msg)` reports to the parent.
import process from 'node:process';
import { setImmediate, setTimeout } from 'node:timers';
import { loadScenario } from './lib/scenarios.mjs';

process.env.PLUGBOARD_LOG_LEVEL ??= 'warn';
const [name, role, json] = process.argv.slice(2);
const send = (msg) => process.connected && process.send(msg);

// Never outlive the parent, and never run longer than any run could need.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), Number(process.env.BENCH_PEER_MAX_MS ?? 120_000)).unref();

async function main() {
  const scenario = await loadScenario(name);
  const start = scenario.peers?.[role];
  if (!start) throw new Error(`unknown peer role ${name}/${role}`);
  const commands = await start(JSON.parse(json), { send });
  process.on('message', async ({ id, cmd, args }) => {
    try {
      const value = cmd === 'stop' || commands[cmd] ? await commands[cmd]?.(args) : undefined;
      if (cmd !== 'stop' && !commands[cmd]) throw new Error(`unknown command ${cmd}`);
      send({ reply: id, ok: true, value });
      if (cmd === 'stop') setImmediate(() => process.exit(0));
    } catch (error) {
      send({ reply: id, ok: false, error: String(error?.stack ?? error) });
      if (cmd === 'stop') setImmediate(() => process.exit(1));
    }
  });
  send({ type: 'ready' });
}

main().catch((error) => {
  send({ type: 'failed', error: String(error?.stack ?? error) });
  setImmediate(() => process.exit(1));
});
