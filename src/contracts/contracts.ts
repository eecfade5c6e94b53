/**
 * Typed contracts. An application declares its events and services once, by declaration
 * merging, and `publish`, `subscribe` and `call` are then checked by the compiler:
 *
 * ```ts
 * declare module 'plugboard' {
 *   interface PlugboardEvents {
 *     'user.created': { id: string; name: string };
 *   }
 *   interface PlugboardServices {
 *     calculator: { add(a: number, b: number): number };
 *   }
 * }
 * ```
 *
 * Names that are not declared stay open (`unknown` payloads, any method), so untyped
 * untyped examples keep working.
 */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PlugboardEvents {}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PlugboardServices {}

/** Payload type of an event name: the declared one, or `unknown` for undeclared names. */
export type EventPayload<E extends string> = E extends keyof PlugboardEvents
  ? PlugboardEvents[E]
  : unknown;

/** Methods of a declared service, or an open record for undeclared ones. */
export type ServiceMethods<S extends string> = S extends keyof PlugboardServices
  ? PlugboardServices[S]
  : Record<string, (...args: never[]) => unknown>;

/** Method names a call may name on service `S`. */
export type MethodName<S extends string> = S extends keyof PlugboardServices
  ? Extract<keyof PlugboardServices[S], string>
  : string;

type MethodOf<S extends string, M extends string> = S extends keyof PlugboardServices
  ? M extends keyof PlugboardServices[S]
    ? PlugboardServices[S][M]
    : never
  : (...args: unknown[]) => unknown;

/** Parameter tuple of `S.M`. */
export type MethodParams<S extends string, M extends string> =
  MethodOf<S, M> extends (...args: infer P) => unknown ? P : never;

/** Resolved result of `S.M`. */
export type MethodResult<S extends string, M extends string> =
  MethodOf<S, M> extends (...args: never[]) => infer R ? Awaited<R> : unknown;

/** Implementation object for registering service `S`: declared methods, sync or async. */
export type ServiceImplementation<S extends string> = S extends keyof PlugboardServices
  ? {
      [K in keyof PlugboardServices[S]]: PlugboardServices[S][K] extends (
        ...args: infer P
      ) => infer R
        ? (...args: P) => R | Promise<Awaited<R>>
        : never;
    }
  : object;

/** A typed proxy: every method of `S`, returning a promise. */
export type ServiceProxy<S extends string> = {
  [M in MethodName<S>]: (...args: MethodParams<S, M>) => Promise<MethodResult<S, M>>;
};
