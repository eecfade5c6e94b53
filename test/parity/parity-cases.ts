/**
 * One set of checks run over two setups: plugins on one embedded (memory) host in parity mode,
 * and plugins on different hosts over a real Redis (parity off: what crosses is the wire itself).
 * Whatever these cases check must come out the same on both, so code tested on the embedded
 * backend meets no surprise when deployed on Redis.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { PayloadTooLargeError, SerializationError } from '../../src/errors/errors.js';

/** The contexts the cases use: a publisher/caller, two subscribers and a provider. */
export interface ParitySetup {
  publisher: PluginContext;
  /** Two subscribers; on Redis each on its own host. */
  subscribers: [PluginContext, PluginContext];
  provider: PluginContext;
  /** Resolves once the provider of `service` is callable from `publisher`. */
  registered: (service: string) => Promise<void>;
  /** Resolves once subscriptions made by `subscribers` receive the publisher's events. */
  subscribed: () => Promise<void>;
}

class Money {
  constructor(
    readonly amount: number,
    readonly currency: string,
  ) {}
  format(): string {
    return `${this.amount} ${this.currency}`;
  }
}

const circular = (): unknown => {
  const node: Record<string, unknown> = { name: 'a' };
  node['self'] = node;
  return node;
};

/** Payloads the wire refuses, and the error class each is refused with. */
const REFUSED: Array<[string, () => unknown, new (...args: never[]) => Error]> = [
  ['a function', () => ({ callback: () => 1 }), SerializationError],
  ['a symbol', () => ({ tag: Symbol('x') }), SerializationError],
  ['a circular object', circular, SerializationError],
  ['a 2 MB payload', () => ({ blob: 'x'.repeat(2 * 1024 * 1024) }), PayloadTooLargeError],
];

export function parityCases(setup: () => ParitySetup): void {
  for (const [what, payload, errorClass] of REFUSED) {
    it(`publishing ${what} rejects with ${errorClass.name}`, async () => {
      const { publisher } = setup();
      await assert.rejects(publisher.eventBus.publish('parity.refused', payload()), errorClass);
    });

    it(`an RPC call with ${what} as a parameter rejects with ${errorClass.name}`, async () => {
      const { publisher, provider, registered } = setup();
      let ran = false;
      const reg = provider.rpcServer.register('parity-params', {
        take: () => {
          ran = true;
          return 'ok';
        },
      });
      try {
        await registered('parity-params');
        await assert.rejects(
          publisher.rpcClient.call('parity-params', 'take', [payload()]),
          errorClass,
        );
        assert.equal(ran, false, 'the method never runs');
      } finally {
        await reg.unregister();
      }
    });

    it(`an RPC method returning ${what} rejects the call with ${errorClass.name}`, async () => {
      const { publisher, provider, registered } = setup();
      const reg = provider.rpcServer.register('parity-result', {
        give: () => payload(),
        giveLater: async () => payload(),
      });
      try {
        await registered('parity-result');
        await assert.rejects(publisher.rpcClient.call('parity-result', 'give', []), errorClass);
        await assert.rejects(
          publisher.rpcClient.call('parity-result', 'giveLater', []),
          errorClass,
        );
      } finally {
        await reg.unregister();
      }
    });
  }

  it('class instances arrive as plain objects (events, RPC params and results)', async () => {
    const { publisher, subscribers, provider, registered, subscribed } = setup();
    const received: unknown[] = [];
    const sub = subscribers[0].eventBus.subscribe('parity.money', (data) => {
      received.push(data);
    });
    const got = subscribers[0].eventBus.waitFor('parity.money', { timeout: 5000 });
    let param: unknown;
    const reg = provider.rpcServer.register('parity-money', {
      echo: (value: unknown) => {
        param = value;
        return new Money(2, 'EUR');
      },
    });
    try {
      await subscribed();
      await registered('parity-money');
      await publisher.eventBus.publish('parity.money', new Money(1, 'EUR'));
      const { data } = await got;
      for (const value of [data, received[0]]) {
        assert.equal(value instanceof Money, false);
        assert.equal(Object.getPrototypeOf(value), Object.prototype);
        assert.deepEqual(value, { amount: 1, currency: 'EUR' });
      }
      const result = await publisher.rpcClient.call('parity-money', 'echo', [new Money(3, 'EUR')]);
      assert.equal(Object.getPrototypeOf(param), Object.prototype);
      assert.deepEqual(param, { amount: 3, currency: 'EUR' });
      assert.equal(Object.getPrototypeOf(result), Object.prototype);
      assert.deepEqual(result, { amount: 2, currency: 'EUR' });
    } finally {
      sub.unsubscribe();
      await reg.unregister();
    }
  });

  it('a subscriber that mutates the data is not seen by another, nor by the publisher', async () => {
    const { publisher, subscribers, subscribed } = setup();
    // The mutator and the observer are different plugins (on Redis, on different hosts).
    const observed = subscribers[1].eventBus.waitFor('parity.order', { timeout: 5000 });
    const mutator = subscribers[0].eventBus.subscribe(
      'parity.order',
      (data) => {
        (data as { items: string[] }).items.push('added by a subscriber');
      },
      { priority: 10 },
    );
    try {
      await subscribed();
      const order = { items: ['book'] };
      await publisher.eventBus.publish('parity.order', order);
      const other = await observed;
      assert.deepEqual((other.data as { items: string[] }).items, ['book']);
      assert.deepEqual(order.items, ['book']);
    } finally {
      mutator.unsubscribe();
    }
  });

  it('an RPC method that mutates its parameters leaves the caller’s objects alone', async () => {
    const { publisher, provider, registered } = setup();
    const reg = provider.rpcServer.register('parity-mutate', {
      mutate: (cart: { items: string[] }) => {
        cart.items.push('added by the provider');
        return cart.items.length;
      },
    });
    try {
      await registered('parity-mutate');
      const cart = { items: ['book'] };
      assert.equal(await publisher.rpcClient.call('parity-mutate', 'mutate', [cart]), 2);
      assert.deepEqual(cart.items, ['book']);
    } finally {
      await reg.unregister();
    }
  });

  it('an error class thrown by a method arrives as an Error with its name, message and code', async () => {
    const { publisher, provider, registered } = setup();
    class PaymentError extends Error {
      override name = 'PaymentError';
      readonly code = 'PAYMENT_DECLINED';
    }
    const reg = provider.rpcServer.register('parity-errors', {
      pay: () => {
        throw new PaymentError('card declined');
      },
      payLater: async () => {
        await Promise.resolve();
        throw new PaymentError('card declined');
      },
    });
    try {
      await registered('parity-errors');
      for (const method of ['pay', 'payLater']) {
        const error = (await publisher.rpcClient.call('parity-errors', method, []).then(
          () => assert.fail('the call must reject'),
          (e: unknown) => e,
        )) as Error & { code?: string };
        assert.equal(error instanceof PaymentError, false);
        assert.ok(error instanceof Error);
        assert.equal(error.name, 'PaymentError');
        assert.equal(error.message, 'card declined');
        assert.equal(error.code, 'PAYMENT_DECLINED');
      }
    } finally {
      await reg.unregister();
    }
  });

  it('what the codec carries arrives intact (Date, Map, Set, BigInt, Buffer)', async () => {
    const { publisher, subscribers, subscribed } = setup();
    const got = subscribers[1].eventBus.waitFor('parity.rich', { timeout: 5000 });
    await subscribed();
    const value = {
      at: new Date(0),
      map: new Map([['k', 1]]),
      set: new Set([1, 2]),
      big: 10n ** 20n,
      bytes: Buffer.from('hi'),
    };
    await publisher.eventBus.publish('parity.rich', value);
    const { data } = await got;
    assert.deepEqual(data, value);
  });
}
