/**
 * The dashboard server's JSON API as the page uses it: the types of its answers and fetches that
 * carry the page's token. The token comes from the page's own address (`?token=`): it is sent as
 * `Authorization: Bearer` on fetches and as `?token=` on the live stream (EventSource cannot set
 * headers). Paths are relative, so the page also works under a path prefix behind a proxy.
 */

import type { DeadLetterView, Overview, StreamedEventView } from '../api-types';

export type { Overview };
export type PluginRow = Overview['plugins'][number];
export type QueueRow = Overview['queues'][number];
export type BreakerRow = Overview['breakers'][number];
export type LockRow = Overview['locks'][number];
export type DeadLetter = DeadLetterView;
export type LiveEvent = StreamedEventView;

/** An API answer that was not 2xx, with the server's `error` message when it gave one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const token = new URLSearchParams(window.location.search).get('token') ?? undefined;

/** Fetch an API path (relative, e.g. `api/overview`) with the token; the parsed JSON body. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  headers.set('accept', 'application/json');
  const res = await fetch(path, { ...init, headers, cache: 'no-store' });
  const body = (await res.json().catch(() => undefined)) as unknown;
  if (!res.ok) throw new ApiError(res.status, errorMessage(body) ?? `HTTP ${res.status}`);
  return body as T;
}

/** The live stream's address for `pattern`, with the token as a query parameter. */
export function eventsUrl(pattern: string): string {
  const query = new URLSearchParams({ pattern });
  if (token !== undefined) query.set('token', token);
  return `api/events?${query.toString()}`;
}

export const overview = (): Promise<Overview> => api<Overview>('api/overview');

const queuePath = (queue: string): string => `api/queues/${encodeURIComponent(queue)}/dead`;

export const deadLetters = (queue: string, limit = 50): Promise<DeadLetter[]> =>
  api<DeadLetter[]>(`${queuePath(queue)}?limit=${limit}`);

export const replayDeadLetter = (queue: string, id: string): Promise<{ replayed: number }> =>
  api(`${queuePath(queue)}/${encodeURIComponent(id)}/replay`, { method: 'POST' });

export const removeDeadLetter = (queue: string, id: string): Promise<{ removed: number }> =>
  api(`${queuePath(queue)}/${encodeURIComponent(id)}`, { method: 'DELETE' });

function errorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  return typeof error === 'string' ? error : undefined;
}
