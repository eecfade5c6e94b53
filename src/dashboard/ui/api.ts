/**
 * The dashboard server's JSON API as the page uses it: the types of its answers and fetches that
 * carry the page's token. The token comes from the page's own address (`?token=`): it is sent as
 * `Authorization: Bearer` on fetches and as `?token=` on the live stream (EventSource cannot set
 * headers). Paths are relative, so the page also works under a path prefix behind a proxy.
 */

export interface PluginRow {
  name: string;
  version: string;
  state: string;
  reason?: string;
  level: number | null;
  dependencies: Record<string, string>;
  permissions: string[] | null;
}

export interface ServiceInstance {
  id: string;
  nodeId: string;
  pluginId?: string;
  methods?: string[];
}

export interface QueueRow {
  name: string;
  waiting: number;
  delayed: number;
  inFlight: number;
  dead: number;
}

export interface BreakerRow {
  name: string;
  state: string;
  nodeId: string;
  failures?: number;
  successes?: number;
}

export interface LockRow {
  resource: string;
  nodeId?: string;
  pluginId?: string;
  expiresAt?: number;
}

export interface TransactionRow {
  id: string;
  state: string;
  decision?: 'commit' | 'abort';
  participants: number;
  startedAt: number;
}

/** `GET /api/overview`. */
export interface Overview {
  nodeId: string;
  backend: string | null;
  status: string;
  nodes: Array<{ nodeId: string; self: boolean }>;
  plugins: PluginRow[];
  services: Array<{ name: string; instances: ServiceInstance[] }>;
  queues: QueueRow[];
  breakers: BreakerRow[];
  locks: LockRow[];
  transactions: { active: number; recent: TransactionRow[] };
}

/** One entry of `GET /api/queues/:queue/dead`. */
export interface DeadLetter {
  id: string;
  reason: string;
  attempt: number;
  failedAt: number;
  data: unknown;
}

/** One event of the live stream (`event: event` records of `GET /api/events`). */
export interface LiveEvent {
  name: string;
  source: string;
  nodeId: string;
  traceId: string;
  time: number;
  data: unknown;
  truncated?: true;
}

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
