import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command, Redis } from 'ioredis';
import { evalScript, type LuaScript } from '../../../src/backends/redis/scripts.js';

const SCRIPT: LuaScript = {
  name: 'listNodes',
  file: 'test-1.lua',
  keys: 1,
  source: 'return 1',
  sha: 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db',
  variadic: false,
};

/**
 * A client that answers each command with `answer(name)` (an Error rejects), on a later
 * tick like a socket, and records what was sent. No `stream`: nothing to cork.
 */
function fakeClient(answer: (name: string, sent: string[]) => unknown): {
  client: Redis;
  sent: string[];
} {
  const sent: string[] = [];
  const client = {
    sendCommand(command: Command) {
      const name = `${command.name} ${String(command.args[0])}`.toLowerCase();
      sent.push(name);
      const reply = answer(name, sent);
      return new Promise((resolve, reject) =>
        setImmediate(() => (reply instanceof Error ? reject(reply) : resolve(reply))),
      );
    },
  } as unknown as Redis;
  return { client, sent };
}

const noScript = (): Error => new Error('NOSCRIPT No matching script.');
const waiting = { waiting: true };

describe('evalScript: NOSCRIPT handling (no Redis needed)', () => {
  it('concurrent callers share one SCRIPT LOAD, then run EVALSHA again', async () => {
    let loaded = false;
    const { client, sent } = fakeClient((name) => {
      if (!name.startsWith('script')) return loaded ? 1 : noScript();
      loaded = true;
      return SCRIPT.sha;
    });
    const all = await Promise.all(
      Array.from({ length: 20 }, () => evalScript(client, SCRIPT, ['k'], [], waiting)),
    );
    assert.deepEqual(all, Array(20).fill(1));
    assert.equal(sent.filter((c) => c.startsWith('script')).length, 1);
    assert.equal(sent.filter((c) => c.startsWith('evalsha')).length, 40);
    assert.equal(sent.filter((c) => c.startsWith('eval ')).length, 0);
  });

  it('the cache flushed again between load and retry: that caller falls back to EVAL', async () => {
    const { client, sent } = fakeClient((name) =>
      name.startsWith('script') ? SCRIPT.sha : name.startsWith('evalsha') ? noScript() : 7,
    );
    assert.equal(await evalScript(client, SCRIPT, ['k'], [], waiting), 7);
    assert.deepEqual(
      sent.map((c) => c.split(' ')[0]),
      ['evalsha', 'script', 'evalsha', 'eval'],
    );
  });

  it('a caller that gave up sends nothing more; a failed load fails its waiters, the next NOSCRIPT loads again', async () => {
    const { client, sent } = fakeClient(() => noScript());
    await assert.rejects(evalScript(client, SCRIPT, ['k'], [], { waiting: false }), /NOSCRIPT/);
    assert.deepEqual(sent, [`evalsha ${SCRIPT.sha}`]);

    let loads = 0;
    const failing = fakeClient((name) => {
      if (!name.startsWith('script')) return noScript();
      loads++;
      return new Error('LOADING Redis is loading the dataset in memory');
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => evalScript(failing.client, SCRIPT, ['k'], [], waiting)),
    );
    assert.ok(outcomes.every((o) => o.status === 'rejected' && /LOADING/.test(String(o.reason))));
    assert.equal(loads, 1);
    await assert.rejects(evalScript(failing.client, SCRIPT, ['k'], [], waiting), /LOADING/);
    assert.equal(loads, 2, 'a settled load is not reused');
  });
});
