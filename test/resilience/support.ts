import { silentLogger } from '../support/runtime.js';
import { BreakerRegistry } from '../../src/resilience/breaker-registry.js';
import type { CircuitBreakerOptions } from '../../src/resilience/types.js';

/** A clock that moves only when told. */
export class FakeClock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A registry on a fake clock, and a breaker from it. */
export function fakeBreaker(options: CircuitBreakerOptions = {}, name = 'svc') {
  const clock = new FakeClock();
  const registry = new BreakerRegistry({ logger: silentLogger, clock });
  return { clock, registry, breaker: registry.getOrCreate(name, options) };
}

export const ok = () => Promise.resolve('ok');
export const boom = () => Promise.reject(new Error('boom'));

/** Settle `promise`, returning its error (or undefined if it resolved). */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A promise and its resolvers (a call the test finishes when it wants). */
export function deferred<T = string>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
