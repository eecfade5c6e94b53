import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ValidationError } from '../../errors/errors.js';
import { resolveClusterSecret, type ClusterMac } from './cluster-mac.js';
import { DEFAULT_MAX_INBOUND_HANDLERS, isValidHandlerBound } from '../inbound-limiter.js';

/** Options of the Redis backend, as given to `createHost({ backend })`. */
export interface RedisBackendOption {
  /**
   * `redis://[user:password@]host:port/db`, `rediss://...` (TLS), or a Unix socket:
   * `redis+unix:///path/to.sock`, `unix:///path/to.sock` or `/path/to.sock` (`?db=2` allowed).
   * Anything else (`http://...`, `localhost:6379`) is refused with a ValidationError.
   */
  redis: string;
  /** Key and channel prefix; hosts with the same Redis and namespace form one cluster. Default `plugboard`. */
  namespace?: string;
  /** How long a node stays in the registry without proving it is alive, ms. Default 10000. */
  livenessTtl?: number;
  /** Fail operations fast with `BackendUnavailableError` past this many buffered while offline. Default 1000. */
  offlineQueueLimit?: number;
  /** Per-operation deadline for backend commands, ms. Default 5000. */
  operationTimeout?: number;
  /** Bytes held for Redis, messages and queue payloads together (unsent, or sent and unanswered); past it, `BackpressureError`. Default 32 MiB. */
  maxPendingBytes?: number;
  /** Inbound message handlers running at once per node; past it, events are dropped (counted). Default 1000. */
  maxInboundHandlers?: number;
  /**
   * Shared secret of the cluster (at least 32 bytes; never logged). With it, every transport
   * frame and registry entry carries a MAC that receivers check: frames and entries without a
   * valid one (forged by someone who can PUBLISH or SET on the Redis) are dropped and counted.
   * A list rotates keys: the first signs, every one is accepted. Every node of a cluster needs
   * one of the same secrets. Default: none (traffic is not authenticated).
   */
  clusterSecret?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** TLS settings of a `rediss://` connection (CA, client certificate, server name). */
  tls?: RedisTlsOption;
}

/**
 * TLS settings of a `rediss://` connection. PEM text or Buffers, or files (`caFile`, ...)
 * read once when the host is created.
 */
export interface RedisTlsOption {
  /** Certificate authorities to trust instead of the system's (PEM). */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** File holding {@link RedisTlsOption.ca}. */
  caFile?: string;
  /** Client certificate (PEM), for servers that authenticate clients (`tls-auth-clients yes`). */
  cert?: string | Buffer;
  /** File holding {@link RedisTlsOption.cert}. */
  certFile?: string;
  /** Private key of the client certificate (PEM). */
  key?: string | Buffer;
  /** File holding {@link RedisTlsOption.key}. */
  keyFile?: string;
  /** Passphrase of an encrypted private key. */
  passphrase?: string;
  /** Check the server's certificate against the CAs (default true; false only for development). */
  rejectUnauthorized?: boolean;
  /** Name the server's certificate must carry (default: the URL's host). */
  servername?: string;
}

/** {@link RedisBackendOption} with every default applied. */
export interface RedisSettings {
  /** The address as ioredis takes it: a `redis:`/`rediss:` URL, or a socket path (`/x.sock?db=1`). */
  readonly url: string;
  readonly namespace: string;
  readonly livenessTtl: number;
  readonly offlineQueueLimit: number;
  readonly operationTimeout: number;
  readonly maxPendingBytes: number;
  readonly maxInboundHandlers: number;
  /** Keys that authenticate the cluster's traffic (`clusterSecret`); undefined: none. */
  readonly cluster?: ClusterMac | undefined;
  /** TLS options for ioredis (`rediss://` only). */
  readonly tls?: ConnectionOptions | undefined;
}

/** Defaults of the Redis backend options (see {@link RedisBackendOption}). */
export const REDIS_DEFAULTS = {
  namespace: 'plugboard',
  livenessTtl: 10_000,
  offlineQueueLimit: 1000,
  operationTimeout: 5000,
  maxPendingBytes: 32 * 1024 * 1024,
  maxInboundHandlers: DEFAULT_MAX_INBOUND_HANDLERS,
} as const;

/**
 * Longest liveness TTL. The scripts treat a liveness deadline more than 10 minutes ahead
 * (`HORIZON_MS` in `scripts/include/liveness.lua`, twice this) as forged: such a node is not
 * live and is reaped.
 */
export const MAX_LIVENESS_TTL_MS = 5 * 60_000;

/** Reconnect delays: exponential from this base, capped, with jitter. */
const BACKOFF_BASE_MS = 50;
const BACKOFF_CAP_MS = 2000;

/**
 * Apply defaults and validate.
 * @throws ValidationError when a value is out of range.
 */
export function resolveSettings(option: RedisBackendOption): RedisSettings {
  const settings: RedisSettings = {
    url: redisAddress(option.redis),
    namespace: option.namespace ?? REDIS_DEFAULTS.namespace,
    livenessTtl: option.livenessTtl ?? REDIS_DEFAULTS.livenessTtl,
    offlineQueueLimit: option.offlineQueueLimit ?? REDIS_DEFAULTS.offlineQueueLimit,
    operationTimeout: option.operationTimeout ?? REDIS_DEFAULTS.operationTimeout,
    maxPendingBytes: option.maxPendingBytes ?? REDIS_DEFAULTS.maxPendingBytes,
    maxInboundHandlers: option.maxInboundHandlers ?? REDIS_DEFAULTS.maxInboundHandlers,
    cluster: resolveClusterSecret(option.clusterSecret),
    tls: resolveTls(option.tls, option.redis),
  };
  if (settings.namespace === '' || /[{}]/.test(settings.namespace)) {
    throw new ValidationError(
      `Redis namespace "${settings.namespace}" must be non-empty and free of braces.`,
      {
        details: { field: 'namespace' },
      },
    );
  }
  positive('livenessTtl', settings.livenessTtl, 300, MAX_LIVENESS_TTL_MS);
  positive('operationTimeout', settings.operationTimeout, 1);
  if (!Number.isInteger(settings.offlineQueueLimit) || settings.offlineQueueLimit < 0) {
    throw new ValidationError('offlineQueueLimit must be a non-negative integer.', {
      details: { field: 'offlineQueueLimit' },
    });
  }
  if (!Number.isInteger(settings.maxPendingBytes) || settings.maxPendingBytes < 1024) {
    throw new ValidationError(
      'maxPendingBytes must be an integer number of bytes, at least 1024.',
      {
        details: { field: 'maxPendingBytes' },
      },
    );
  }
  if (!isValidHandlerBound(settings.maxInboundHandlers)) {
    throw new ValidationError('maxInboundHandlers must be a positive integer.', {
      details: { field: 'maxInboundHandlers' },
    });
  }
  return settings;
}

/**
 * Check and load the `tls` option: files are read now, so a missing file fails at `createHost`.
 * @throws ValidationError for a `redis://` URL (TLS needs `rediss://`) or an unreadable file.
 */
function resolveTls(
  option: RedisTlsOption | undefined,
  url: unknown,
): ConnectionOptions | undefined {
  if (option === undefined) return undefined;
  if (typeof url !== 'string' || !/^rediss:/i.test(url))
    throw new ValidationError('The tls option needs a rediss:// URL.', {
      details: { field: 'tls' },
    });
  const file = (field: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    const path = option[field];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ValidationError(
        `tls.${field} ${JSON.stringify(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}).`,
        { details: { field: `tls.${field}` } },
      );
    }
  };
  const ca = option.ca ?? file('caFile');
  const cert = option.cert ?? file('certFile');
  const key = option.key ?? file('keyFile');
  if ((cert === undefined) !== (key === undefined))
    throw new ValidationError('tls needs both a client certificate and its key, or neither.', {
      details: { field: cert === undefined ? 'tls.cert' : 'tls.key' },
    });
  return {
    ...(ca === undefined
      ? {}
      : { ca: Array.isArray(ca) ? [...(ca as (string | Buffer)[])] : (ca as string | Buffer) }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(option.passphrase === undefined ? {} : { passphrase: option.passphrase }),
    ...(option.servername === undefined ? {} : { servername: option.servername }),
    rejectUnauthorized: option.rejectUnauthorized ?? true,
  };
}

/**
 * Check that `url` is a Redis address and return it in the form ioredis understands (socket URLs
 * become paths). ioredis itself would read `http://x` as a Unix socket named `//x` and
 * `localhost:6379` as a host, then fail later with "Connection is closed".
 * @throws ValidationError for anything else, naming the accepted forms.
 */
export function redisAddress(url: unknown): string {
  const refuse = (why: string): never => {
    throw new ValidationError(
      `Redis URL ${typeof url === 'string' ? JSON.stringify(redactUrl(url)) : String(url)} ${why}; use redis://host:port (rediss:// for TLS) or redis+unix:///path/to.sock.`,
      { details: { field: 'redis' } },
    );
  };
  if (typeof url !== 'string' || url === '') return refuse('is not a non-empty string');
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return refuse('has no scheme');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('is not a valid URL');
  }
  if (scheme === 'redis' || scheme === 'rediss') {
    if (parsed.hostname === '') return refuse('has no host');
    return url;
  }
  if (scheme === 'redis+unix' || scheme === 'unix') {
    if (parsed.host !== '' || parsed.pathname === '' || parsed.pathname === '/')
      return refuse('needs an absolute socket path and no host (three slashes)');
    return decodeURIComponent(parsed.pathname) + parsed.search;
  }
  return refuse(`is not a Redis URL (scheme "${scheme}:")`);
}

/** `url` without its password (`redis://user:***@host`), for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/:]*):[^@/]*@/, '//$1:***@').replace(/\/\/[^@/:]*@/, '//***@');
}

function positive(field: string, value: number, min: number, max = Infinity): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new ValidationError(`${field} must be a number of milliseconds, ${range}.`, {
      details: { field },
    });
  }
}

/**
 * Delay before reconnect attempt `attempt` (1-based): capped exponential backoff with "equal
 * jitter", so a fleet of nodes does not reconnect in lockstep after a Redis restart.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 16));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
