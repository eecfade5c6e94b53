/**
 * Type-level tests of typed contracts, checked by `npm run typecheck:contracts` (part of
 * `npm test`). Every `@ts-expect-error` line MUST fail to compile: if misuse ever compiled,
 * the directive would be unused and tsc would fail.
 */
import type { PluginContext, ServiceProxy, ServiceStatus } from '../../src/index.js';
import { MessageStatus } from '../../src/index.js';

declare module '../../src/index.js' {
  interface PlugboardEvents {
    'user.created': { id: string; name: string };
    'order.paid': { orderId: string; total: number };
  }
  interface PlugboardServices {
    calculator: {
      add(a: number, b: number): number;
      multiply(a: number, b: number): number;
    };
    users: { get(id: string): Promise<{ id: string; name: string }> };
  }
  interface PlugboardQueues {
    'email.tasks': { to: string; subject: string; body: string };
  }
}

declare const context: PluginContext;

export async function events(): Promise<void> {
  await context.eventBus.publish('user.created', { id: '123', name: 'John' });
  // @ts-expect-error wrong payload shape for a declared event
  await context.eventBus.publish('user.created', { id: 123, name: 'John' });
  // @ts-expect-error missing field
  await context.eventBus.publish('order.paid', { orderId: 'o1' });

  context.eventBus.subscribe('user.created', (data) => {
    const name: string = data.name;
    // @ts-expect-error the payload has no such field
    void data.email;
    void name;
  });

  // Undeclared events stay open, so the chapter's untyped examples keep compiling.
  await context.eventBus.publish('request.received', { url: '/api/users' });
  context.eventBus.subscribe('anything.*', (data: unknown) => void data);
}

export async function rpc(): Promise<void> {
  const sum: number = await context.rpcClient.call('calculator', 'add', [2, 3]);
  // @ts-expect-error wrong parameter types
  await context.rpcClient.call('calculator', 'add', ['2', 3]);
  // @ts-expect-error unknown method of a declared service
  await context.rpcClient.call('calculator', 'divide', [6, 3]);
  // @ts-expect-error the result is a number, not a string
  const wrong: string = await context.rpcClient.call('calculator', 'multiply', [2, 3]);

  const user = await context.rpcClient.callWithTimeout('users', 'get', ['7'], 1000);
  const id: string = user.id;

  context.rpcServer.register('calculator', {
    add: (a, b) => a + b,
    multiply: async (a, b) => a * b,
  });
  // @ts-expect-error implementation is missing a declared method
  context.rpcServer.register('calculator', { add: (a: number, b: number) => a + b });
  // @ts-expect-error implementation has the wrong signature
  context.rpcServer.register('users', { get: (id: number) => ({ id, name: 'x' }) });

  const calc: ServiceProxy<'calculator'> = context.rpcClient.proxy('calculator');
  const product: number = await calc.multiply(2, 3);
  // @ts-expect-error proxy methods are typed too
  await calc.add('a', 'b');

  // Undeclared services stay open.
  const anything: unknown = await context.rpcClient.call('legacy', 'whatever', [1, 'two']);
  (void sum, wrong, id, product, anything);
}

export async function waits(): Promise<void> {
  // waitFor is typed by the event map: its data, its filter's parameter.
  const { data, meta } = await context.eventBus.waitFor('order.paid', {
    timeout: 1000,
    filter: (order) => order.total > 10,
  });
  const total: number = data.total;
  const event: string = meta.event;
  // @ts-expect-error the payload has no such field
  void data.customer;
  // @ts-expect-error the filter sees the declared payload
  await context.eventBus.waitFor('user.created', { filter: (user) => user.total > 1 });
  // @ts-expect-error the filter must return a boolean
  await context.eventBus.waitFor('user.created', { filter: () => 'yes' });
  // @ts-expect-error timeout is a number of ms
  await context.eventBus.waitFor('user.created', { timeout: '1s' });
  // Undeclared events and patterns stay open.
  const other: unknown = (await context.eventBus.waitFor('anything.*')).data;

  const status: ServiceStatus = await context.rpcClient.waitForService('calculator', {
    timeout: 1000,
  });
  const available: 'available' | 'unavailable' = status.status;
  // @ts-expect-error timeout is a number of ms
  await context.rpcClient.waitForService('calculator', { timeout: true });
  (void total, event, other, available);
}

export async function queues(): Promise<void> {
  const mq = context.messageQueue;
  await mq.send('email.tasks', { to: 'a@example.com', subject: 'Hi', body: 'Hello' });
  // @ts-expect-error wrong payload shape for a declared queue
  await mq.send('email.tasks', { to: 1, subject: 'Hi', body: 'Hello' });
  // @ts-expect-error missing field
  await mq.sendDelayed('email.tasks', { to: 'a@example.com' }, 1000);
  mq.receive('email.tasks', (message) => {
    const to: string = message.data.to;
    // @ts-expect-error the payload has no such field
    void message.data.cc;
    void to;
    return MessageStatus.SUCCESS;
  });
  // Undeclared queues stay open; an explicit type argument types the data.
  await mq.send('other.queue', { anything: true });
  mq.receive<{ n: number }>('other.queue', (message) => {
    const n: number = message.data.n;
    void n;
  });
  // @ts-expect-error handlers return a MessageStatus or nothing
  mq.receive('other.queue', () => 42);
}
