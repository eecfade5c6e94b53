import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCodec } from '../../src/codec/codec.js';
import {
  MethodNotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '../../src/errors/errors.js';
import type { ReplyFrame, RequestFrame } from '../../src/rpc/wire.js';
import {
  startClusterNode,
  until,
  type BackendHarness,
  type ClusterNode,
  type HarnessFactory,
} from './harness.js';

type Node = ClusterNode;

const codec = createCodec({ maxPayloadBytes: 64 * 1024 });

/**
 * RPC across a cluster, on any backend: balancing over every provider (local ones included),
 * failover and fast failure when a provider's node goes, deadlines as time left, remote stacks,
 * and `Registration.ready` meaning "every live node routes to it".
 */
export function rpcConformance(name: string, factory: HarnessFactory): void {
  describe(`RPC conformance: ${name}`, () => {
    let harness: BackendHarness;
    let nodes: Node[];

    const startNode = (): Promise<Node> => startClusterNode(harness, 5000);

    beforeEach(async () => {
      harness = await factory();
      nodes = [await startNode(), await startNode(), await startNode()];
    });
    afterEach(async () => {
      await Promise.allSettled(nodes.map((n) => n.runtime.close()));
      await harness.cleanup();
    });

    /** Wait until `node` sees `count` providers of `service`. */
    const visible = (node: Node, service: string, count: number) =>
      until(
        () => {
          let seen = 0;
          node
            .plugin('probe')
            .rpcClient.subscribeService(service, (s) => (seen = s.instances.length))
            .unsubscribe();
          return seen >= count;
        },
        5000,
        `${count} providers of ${service}`,
      );

    it('balances over every provider that has the method, local ones included', async () => {
      nodes[0]!.plugin('p').rpcServer.register('where', { am: () => 'node0' });
      nodes[1]!.plugin('p').rpcServer.register('where', {
        am: () => 'node1',
        only1: () => 'node1',
      });
      await visible(nodes[0]!, 'where', 2);
      const client = nodes[0]!.plugin('c').rpcClient;
      const answers: unknown[] = [];
      for (let i = 0; i < 6; i++) answers.push(await client.call('where', 'am'));
      assert.deepEqual(new Set(answers), new Set(['node0', 'node1']));
      assert.equal(answers.filter((a) => a === 'node0').length, 3, 'evenly');
      // preferLocal: a local provider with the method wins; otherwise the cluster serves it.
      for (let i = 0; i < 4; i++)
        assert.equal(await client.call('where', 'am', [], { preferLocal: true }), 'node0');
      assert.equal(await client.call('where', 'only1'), 'node1');
      assert.equal(await client.call('where', 'only1', [], { preferLocal: true }), 'node1');
      await assert.rejects(client.call('where', 'nope'), MethodNotFoundError);
    });

    it('fails over at once from a provider whose node is gone', async () => {
      nodes[1]!.plugin('p').rpcServer.register('svc', { ping: () => 'node1' });
      nodes[2]!.plugin('p').rpcServer.register('svc', { ping: () => 'node2' });
      await visible(nodes[0]!, 'svc', 2);
      await harness.crash(nodes[1]!.backend);
      // Once the backend knows the node cannot receive (Redis: its socket closed on the server)
      // calls move on at once, even while its entry lingers until its liveness lapses.
      const dead = nodes[1]!.backend.nodeId;
      await until(
        () =>
          nodes[0]!.backend.transport.send(dead, 'probe', new Uint8Array(1)).then(
            () => false,
            (e: unknown) => e instanceof ServiceUnavailableError,
          ),
        5000,
        'the crashed node to be unreachable',
      );
      const client = nodes[0]!.plugin('c').rpcClient;
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await client.call('svc', 'ping'));
      assert.deepEqual(new Set(answers), new Set(['node2']));
    });

    it('rejects a non-idempotent call with ServiceUnavailableError once its provider is known dead mid-call, not at its deadline', async () => {
      let started = false;
      nodes[1]!.plugin('p').rpcServer.register('lost', {
        hang: () => {
          started = true;
          return new Promise(() => undefined);
        },
      });
      await visible(nodes[0]!, 'lost', 1);
      // A deadline well past the liveness lapse: the call must end when the provider goes.
      const timeout = harness.livenessMs + 20_000;
      const call = nodes[0]!.plugin('c').rpcClient.callWithTimeout('lost', 'hang', [], timeout);
      const outcome = call.then(
        () => 'resolved',
        (e: unknown) => e,
      );
      await until(() => started, 5000, 'the method to start');
      await harness.crash(nodes[1]!.backend);
      const error = await outcome;
      assert.ok(error instanceof ServiceUnavailableError, `got ${String(error)}`);
      assert.equal(error.details.mayHaveRun, true);
      assert.equal(error.details.nodeId, nodes[1]!.backend.nodeId);
      assert.match(error.message, /may or may not have run/);
    });

    it('moves an idempotent call on to another provider when its provider dies mid-call', async () => {
      let started = false;
      nodes[1]!.plugin('p').rpcServer.register(
        'idem',
        {
          work: () => {
            started = true;
            return new Promise(() => undefined);
          },
        },
        { idempotent: ['work'] },
      );
      await visible(nodes[0]!, 'idem', 1);
      const call = nodes[0]!.plugin('c').rpcClient.callWithTimeout('idem', 'work', [], 60_000);
      await until(() => started, 5000, 'the method to start');
      await nodes[2]!.plugin('p').rpcServer.register('idem', { work: () => 'node2' }).ready;
      await harness.crash(nodes[1]!.backend);
      assert.equal(await call, 'node2');
    });

    it('keeps the remote stack after the local one, and the error class, name, message, code', async () => {
      nodes[1]!.plugin('p').rpcServer.register('boom', {
        foreign: function throwsOnProvider() {
          throw Object.assign(new RangeError('no such account'), { code: 'E_ACCOUNT' });
        },
        ours: function rejectsOnProvider() {
          throw new ValidationError('bad amount', { details: { field: 'amount' } });
        },
      });
      await visible(nodes[0]!, 'boom', 1);
      const client = nodes[0]!.plugin('c').rpcClient;
      const providerNode = nodes[1]!.backend.nodeId;
      async function callerSite(method: string): Promise<unknown> {
        return await client.call('boom', method).then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        );
      }
      const foreign = (await callerSite('foreign')) as Error & {
        code: string;
        remoteStack: string;
      };
      assert.equal(foreign.name, 'RangeError');
      assert.equal(foreign.message, 'no such account');
      assert.equal(foreign.code, 'E_ACCOUNT');
      const [local, remote] = foreign.stack!.split(`\nCaused on node ${providerNode}:\n`);
      assert.ok(remote !== undefined, foreign.stack);
      assert.match(local!, /^RangeError: no such account\n\s+at /);
      assert.match(remote, /throwsOnProvider/);
      assert.equal(foreign.remoteStack, remote);
      assert.ok(!Object.keys(foreign).includes('remoteStack'));
      const ours = (await callerSite('ours')) as ValidationError & { remoteStack: string };
      assert.ok(ours instanceof ValidationError);
      assert.equal(ours.code, 'PB_VALIDATION');
      assert.deepEqual(ours.details, { field: 'amount' });
      assert.match(ours.stack!, new RegExp(`Caused on node ${providerNode}:\\n`));
      assert.match(ours.remoteStack, /rejectsOnProvider/);
    });

    it('sends the time left on the wire, and the provider bounds the call by it from receipt', async () => {
      nodes[1]!.plugin('p').rpcServer.register('slow', {
        wait: () => new Promise((resolve) => setTimeout(() => resolve('done'), 600)),
      });
      await visible(nodes[0]!, 'slow', 1);
      const transport = nodes[0]!.backend.transport;
      const send = transport.request.bind(transport);
      const frames: RequestFrame[] = [];
      transport.request = (node, topic, payload, deadline) => {
        if (topic === 'pb.rpc') frames.push(codec.decode(payload) as RequestFrame);
        return send(node, topic, payload, deadline);
      };
      assert.equal(
        await nodes[0]!.plugin('c').rpcClient.callWithTimeout('slow', 'wait', [], 5000),
        'done',
      );
      assert.equal(frames.length, 1);
      assert.ok(frames[0]!.t > 0 && frames[0]!.t <= 5000, `t = ${frames[0]!.t}`);
      // A frame from a node whose clock is far off says only "5 s left": the method gets them.
      const request: RequestFrame = { s: 'slow', m: 'wait', p: [], c: 'raw', t: 5000 };
      const reply = codec.decode(
        await send(nodes[1]!.backend.nodeId, 'pb.rpc', codec.encode(request), Date.now() + 10_000),
      ) as ReplyFrame;
      assert.deepEqual(reply, { v: 'done' });
    });

    it('after `await registration.ready` on one node, a call from any other node reaches it', async () => {
      for (let round = 0; round < 5; round++) {
        const service = `fresh${round}`;
        await nodes[0]!.plugin('p').rpcServer.register(service, { hi: () => 'node0' }).ready;
        for (const caller of [nodes[1]!, nodes[2]!])
          assert.equal(await caller.plugin('c').rpcClient.call(service, 'hi'), 'node0');
      }
    });
  });
}
