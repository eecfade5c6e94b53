/**
 * The dashboard's JSON API as data types: what the server (src/dashboard/server) answers and the
 * page (src/dashboard/ui) reads. Types only, with no imports, so both sides (Node and the
 * browser) compile them.
 */

/** `GET /api/overview`: the host, its plugins and what the cluster's blocks hold. */
export interface Overview {
  nodeId: string;
  backend: string | null;
  status: string;
  nodes: Array<{ nodeId: string; self: boolean }>;
  plugins: Array<{
    name: string;
    version: string;
    state: string;
    reason?: string;
    level: number | null;
    dependencies: Record<string, string>;
    /** The declared capabilities, or null when the plugin declares no list. */
    permissions: string[] | null;
  }>;
  services: Array<{
    name: string;
    instances: Array<{ id: string; nodeId: string; pluginId?: string; methods: string[] }>;
  }>;
  queues: Array<{ name: string; waiting: number; delayed: number; inFlight: number; dead: number }>;
  breakers: Array<{
    name: string;
    state: string;
    nodeId: string;
    failures: number;
    successes: number;
  }>;
  locks: Array<{ resource: string; nodeId: string; pluginId: string; expiresAt: number }>;
  transactions: {
    active: number;
    recent: Array<{
      id: string;
      state: string;
      decision?: 'commit' | 'abort';
      participants: number;
      startedAt: number;
    }>;
  };
}

/** One entry of `GET /api/queues/:queue/dead`. */
export interface DeadLetterView {
  id: string;
  reason: string;
  attempt: number;
  failedAt: number;
  data: unknown;
}

/** One event of the live stream (`event: event` records of `GET /api/events`). */
export interface StreamedEventView {
  name: string;
  source: string;
  nodeId: string;
  traceId: string;
  time: number;
  data: unknown;
  truncated?: true;
}
