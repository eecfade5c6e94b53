import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BackendUnavailableError, isPlugboardError, TimeoutError } from '../../errors/errors.js';
import type { DeadlineEntry, Deadlines } from '../../util/deadlines.js';
import type { BackendConnectionHealth } from '../ports.js';
import { rawFrame } from './framed-command.js';
import { rawCommand } from './scripts.js';
import { reconnectDelay, redactUrl, type RedisSettings } from './options.js';

/** The last connection error each client reported (`'error'` event), for start failures. */
const lastErrors = new WeakMap<Redis, Error>();
/** The last error each client reported and when (epoch ms), for health; never cleared. */
const reportedErrors = new WeakMap<Redis, { error: Error; at: number }>();

/** A client's health as `host.health()` shows it. */
export function connectionHealth(client: Redis, name: ConnectionRole): BackendConnectionHealth {
  const reported = reportedErrors.get(client);
  const code = (reported?.error as { code?: unknown } | undefined)?.code;
  return {
    name,
    up: client.status === 'ready',
    status: client.status,
    ...(reported === undefined
      ? {}
      : {
          lastError: {
            message: reported.error.message,
            ...(typeof code === 'string' ? { code } : {}),
            at: reported.at,
          },
        }),
  };
}

/** What a connection is for; named in logs and in `CLIENT LIST`. */
export type ConnectionRole = 'commands' | 'subscriber' | 'tracking';

/**
 * Open (lazily) one ioredis client with the backend's reconnect policy: reconnect forever with
 * capped jittered backoff, and let our own deadlines, not ioredis retry counts, decide when an
 * operation fails. ioredis never holds a command for later: no offline queue (the
 * {@link CommandRunner} keeps waiting operations itself and drops them at their deadline) and
 * no resending of unanswered commands after a reconnect (their callers may have given up).
 */
export function createClient(
  settings: RedisSettings,
  role: ConnectionRole,
  nodeId: string,
  logger: Logger,
): Redis {
  const client = new Redis(settings.url, {
    lazyConnect: true,
    connectionName: `plugboard:${settings.namespace}:${nodeId}:${role}`,
    enableAutoPipelining: role === 'commands',
    // The transport's outbox already coalesces a tick's frames into one PUBLISH; pipelining them
    // again would add ioredis's own setImmediate and Pipeline to every hop (~25% of p50).
    autoPipeliningIgnoredCommands: ['publish'],
    maxRetriesPerRequest: null,
    enableOfflineQueue: false,
    // The cache tracking connection redoes CLIENT TRACKING before it subscribes (RESP2 refuses
    // other commands once subscribed) and needs RESP2: ioredis drops RESP3 `invalidate` pushes.
    autoResubscribe: role !== 'tracking',
    ...(role === 'tracking' ? { protocol: 2 as const } : {}),
    autoResendUnfulfilledCommands: false,
    connectTimeout: settings.operationTimeout,
    noDelay: true,
    ...(settings.tls === undefined ? {} : { tls: settings.tls }),
    retryStrategy: (attempt) => reconnectDelay(attempt),
  });
  let reported = false;
  let everReady = false;
  // An EventEmitter 'error' without listener would crash the process: log once per outage.
  // Before the first connection, a failure is the start's to report (with this root cause, see
  // connectClient), so it is only logged at debug level.
  client.on('error', (error: Error) => {
    lastErrors.set(client, error);
    reportedErrors.set(client, { error, at: Date.now() });
    if (reported) return;
    reported = true;
    if (everReady)
      logger.warn({ err: error, role }, 'Redis connection error; reconnecting with backoff');
    else logger.debug({ err: error, role }, 'Redis connection error while connecting');
  });
  client.on('ready', () => {
    if (reported && everReady) logger.info({ role }, 'Redis connection restored');
    reported = false;
    everReady = true;
  });
  return client;
}

/**
 * Connect `client` (settled by `deadline` through `runner`). On failure the error names the root
 * cause ioredis reported on its `'error'` event (refused, host not found, authentication failed...),
 * not ioredis's generic "Connection is closed".
 * @throws BackendUnavailableError `Cannot connect to Redis at <url>: <root cause>`, with
 *   `details.url` (password redacted), `details.code` (e.g. `ECONNREFUSED`, `WRONGPASS`) when known.
 */
export async function connectClient(
  client: Redis,
  runner: CommandRunner,
  url: string,
  deadline: number,
): Promise<void> {
  const shown = redactUrl(url);
  lastErrors.delete(client);
  try {
    await runner.settleBy(`connect to Redis at ${shown}`, () => client.connect(), deadline);
  } catch (error) {
    const root = lastErrors.get(client);
    if (root === undefined) throw error;
    const { reason, code } = describeConnectionError(root, /^rediss:/i.test(url));
    // The root cause is in the message; `cause` is left out so that loggers which append a
    // cause's message (pino's default) do not print it twice.
    throw new BackendUnavailableError(`Cannot connect to Redis at ${shown}: ${reason}`, {
      details: { url: shown, ...(code === undefined ? {} : { code }), status: client.status },
    });
  }
}

/** Codes of Node's TLS client for a server certificate it does not trust. */
const UNTRUSTED_SERVER = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * A connection error as a person reads it: what happened, then the system's own words. `tls`:
 * the connection was a `rediss://` one (a reset then means the server refused the handshake).
 */
export function describeConnectionError(
  error: Error,
  tls = false,
): { reason: string; code?: string } {
  const { code, address, port, hostname } = error as Error & {
    code?: unknown;
    address?: unknown;
    port?: unknown;
    hostname?: unknown;
  };
  const where =
    typeof address === 'string'
      ? ` ${address}${typeof port === 'number' ? `:${port}` : ''}`
      : typeof hostname === 'string'
        ? ` ${hostname}`
        : '';
  const sys = (what: string, c: string): { reason: string; code: string } => ({
    reason: `${what} (${c}${where})`,
    code: c,
  });
  switch (code) {
    case 'ECONNREFUSED':
      return sys('connection refused: nothing listens there', code);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return sys('host not found', code);
    case 'ETIMEDOUT':
      return sys('connection timed out', code);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return sys('host unreachable', code);
    case 'ENOENT':
      return sys('no Unix socket at that path', code);
    case 'EACCES':
      return sys('permission denied', code);
    case 'ECONNRESET':
      return tls
        ? sys(
            'the server closed the TLS connection during the handshake: it requires a client certificate (tls.cert and tls.key, or tls.certFile and tls.keyFile) signed by a CA it trusts, or refused the one given',
            code,
          )
        : sys('connection reset by the server (TLS expected?)', code);
  }
  if (typeof code === 'string' && UNTRUSTED_SERVER.has(code))
    return {
      reason: `the server's TLS certificate is not signed by a trusted CA (${code}: ${error.message}); give its CA as tls.ca or tls.caFile`,
      code,
    };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return { reason: `the server's TLS certificate is not valid now (${code})`, code };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return {
      reason: `the server's TLS certificate does not name this host (${error.message}); connect by a name it carries, or set tls.servername`,
      code,
    };
  if (typeof code === 'string' && code.startsWith('ERR_SSL_'))
    return {
      reason: `the server refused the TLS handshake (${code}): check the client certificate (tls.cert/tls.key) against the server's CA (tls-ca-cert-file)`,
      code,
    };
  const reply = /^([A-Z][A-Z_]+) (.*)$/.exec(error.message);
  if (reply !== null) {
    const [, word, rest] = reply as unknown as [string, string, string];
    // The server's own wording varies (RESP3's HELLO explains itself at length): say it plainly.
    if (word === 'NOAUTH')
      return {
        reason: 'authentication failed: the server requires a password (NOAUTH)',
        code: word,
      };
    if (word === 'WRONGPASS')
      return {
        reason: 'authentication failed: wrong user name or password (WRONGPASS)',
        code: word,
      };
    if (/password|AUTH/i.test(error.message))
      return { reason: `authentication failed (${word} ${rest})`, code: word };
    return { reason: `Redis refused the connection (${error.message})`, code: word };
  }
  return { reason: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** Handed to a command while it runs: may it still send something? */
export interface CommandCaller {
  /** True while the caller still waits for the outcome (before its deadline, not settled). */
  readonly waiting: boolean;
}

/** One operation of a {@link CommandRunner}, from `run` until it settles. */
interface Operation extends CommandCaller {
  readonly start: () => void;
  readonly fail: (error: Error) => void;
}

/**
 * Runs commands on one client under the backend's rules: every operation settles by its
 * deadline, and either reaches Redis while its caller still waits or never does.
 *
 * - Connected: the command is written at once (scripts and other direct commands: in this tick's
 *   one socket write, see `corkForTick`).
 * - Not connected: the operation waits here (at most `offlineQueueLimit` of them; past that,
 *   operations fail fast) and is written when the client is ready again, if its deadline has
 *   not passed. At the deadline it is dropped and fails with `details.sent === false`: nothing
 *   reached Redis, nothing ever will.
 * - The connection drops while a command waits for its reply: the caller is told at once
 *   (`BackendUnavailableError`, outcome unknown: Redis may or may not have run it), and the
 *   command is not sent again after the reconnect.
 */
export class CommandRunner {
  /** Operations waiting for the client to be ready, oldest first. */
  private readonly waiting = new Set<Operation>();
  /** Operations written on the current connection and not answered yet. */
  private readonly inFlight = new Set<Operation>();
  /** Commands of {@link send} written on the current connection and not answered yet. */
  private readonly sent = new Set<SentCommand>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly client: Redis,
    private readonly deadlines: Deadlines,
    private readonly settings: RedisSettings,
  ) {
    client.on('ready', () => this.drain());
    // The replies of what was written on the lost connection will never come.
    client.on('close', () => {
      forgetRunningAutoPipelines(client);
      const lost = [...this.inFlight];
      this.inFlight.clear();
      const dropped = [...this.sent];
      this.sent.clear();
      for (const op of dropped) op.dropped(client.status);
      for (const op of lost) {
        op.fail(
          new BackendUnavailableError(
            'The connection to Redis dropped before it answered; the command may or may not have run.',
            { details: { status: client.status } },
          ),
        );
      }
    });
  }

  /** How long an operation waits for Redis unless it names its own deadline, ms. */
  get operationTimeout(): number {
    return this.settings.operationTimeout;
  }

  /** Operations waiting for the connection (they count against `offlineQueueLimit`). */
  get offlineCount(): number {
    return this.waiting.size;
  }

  /**
   * Run `command` and settle by `deadline` (epoch ms; default: now + operationTimeout). While
   * disconnected, `command` is only called once the client is ready again, and never after the
   * deadline. `command` may check `caller.waiting` before sending a follow-up command.
   * @throws BackendUnavailableError when closed or when the offline buffer is full (with
   *   `details.sent === false`: nothing reached Redis), when the deadline passes while
   *   disconnected (also `sent === false`), or when Redis fails the command or the connection
   *   drops before the reply (outcome unknown).
   * @throws TimeoutError when the deadline passes while connected (outcome unknown).
   */
  run<T>(
    what: string,
    command: (client: Redis, caller: CommandCaller) => Promise<T>,
    deadline?: number,
  ): Promise<T> {
    if (this.closed) {
      return Promise.reject(
        new BackendUnavailableError(`Cannot ${what}: the Redis backend is closed.`, {
          details: { sent: false },
        }),
      );
    }
    const ready = this.client.status === 'ready';
    if (!ready && this.waiting.size >= this.settings.offlineQueueLimit) {
      return Promise.reject(this.bufferFull(what));
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let sent = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        this.waiting.delete(op);
        this.inFlight.delete(op);
        return true;
      };
      const timer = this.deadlines.at(
        deadline ?? Date.now() + this.settings.operationTimeout,
        () => {
          if (finish()) reject(sent ? this.expired(what) : this.neverSent(what));
        },
      );
      const op: Operation = {
        get waiting() {
          return !settled;
        },
        fail: (error) => {
          if (!finish()) return;
          timer.cancel();
          reject(error);
        },
        start: () => {
          this.waiting.delete(op);
          sent = true;
          this.inFlight.add(op);
          // ioredis can report 'ready' a moment before its socket is writable; a command it
          // refuses then was never sent, so it waits for the connection again (bounded by its
          // deadline and the offline limit) instead of failing.
          const refused = (error: unknown): void => {
            const backendError = toBackendError(error, what);
            if (wasNotSent(backendError) && !settled && !this.closed) {
              // The connection dropped before ioredis told us: the same bound as when it had.
              if (this.waiting.size >= this.settings.offlineQueueLimit) {
                op.fail(this.bufferFull(what));
                return;
              }
              sent = false;
              this.inFlight.delete(op);
              this.waiting.add(op);
              this.retrySoon();
              return;
            }
            op.fail(backendError);
          };
          let pending: Promise<T>;
          try {
            pending = command(this.client, op);
          } catch (error) {
            refused(error);
            return;
          }
          pending.then((value) => {
            if (!finish()) return;
            timer.cancel();
            resolve(value);
          }, refused);
        },
      };
      if (ready) {
        // Older waiting operations first (the 'ready' event may not have been handled yet).
        if (this.waiting.size > 0) this.drain();
        op.start();
      } else {
        this.waiting.add(op);
      }
    });
  }

  /**
   * One command with binary replies ({@link rawCommand}, or a prebuilt frame: `args` is then
   * a Buffer, see `setFrame`), under `run`'s rules, for hot callers
   * (the cache's get and set): while connected with nothing waiting, it is written at once with
   * one promise, one duration deadline (no clock read) and no closure per step. `done`, when
   * given, is called once when Redis answered or the connection dropped, not at the deadline
   * (what a caller holds for Redis, it holds until then). `answer`, when given, is what the
   * promise resolves with instead of the reply (saves the caller a promise hop).
   */
  send(
    what: string,
    name: string,
    args: CommandArgs,
    done?: () => void,
    answer?: unknown,
  ): Promise<unknown> {
    if (this.closed || this.waiting.size > 0 || this.client.status !== 'ready') {
      // The general path; `done` follows the command once it is written.
      let written = false;
      const outcome = this.run(what, (client) => {
        written = true;
        const answered = write(client, name, args);
        if (done !== undefined) {
          const op = new SentCommand(this, what, undefined, undefined, done);
          this.sent.add(op);
          answered.then(op.answered, op.answered);
        }
        return answered;
      });
      if (done !== undefined) {
        const never = (): void => {
          if (!written) done();
        };
        outcome.then(never, never);
      }
      return answer === undefined ? outcome : outcome.then(() => answer);
    }
    return new Promise((resolve, reject) => {
      const op = new SentCommand(this, what, resolve, reject, done, answer);
      op.timer = this.deadlines.add(this.settings.operationTimeout, op.expire);
      this.sent.add(op);
      let pending: Promise<unknown>;
      try {
        pending = write(this.client, name, args);
      } catch (error) {
        op.failed(toBackendError(error, what));
        return;
      }
      pending.then(op.answered, (error: unknown) => {
        const backendError = toBackendError(error, what);
        if (wasNotSent(backendError) && !this.closed && !op.isSettled) {
          this.sent.delete(op);
          this.rerun(op, name, args);
        } else op.failed(backendError);
      });
    });
  }

  /** @internal A {@link SentCommand} got its reply or lost its connection. */
  forget(op: SentCommand): void {
    this.sent.delete(op);
  }

  /** @internal The deadline of a {@link SentCommand} passed (sent, so outcome unknown). */
  timedOut(what: string): Error {
    return this.expired(what);
  }

  /**
   * @internal Redis refused to write a {@link SentCommand} (the socket was not writable yet):
   * it goes the general way, waiting for the connection, and is never written once its caller
   * gave up.
   */
  rerun(op: SentCommand, name: string, args: CommandArgs): void {
    this.run(op.what, (client) =>
      op.waiting ? write(client, name, args) : Promise.reject(op.gaveUp()),
    ).then(op.answered, op.failed);
  }

  /**
   * Settle `work` (which is not a command, e.g. connecting) by `deadline`, without waiting
   * for the connection.
   */
  settleBy<T>(what: string, work: () => Promise<T>, deadline: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.deadlines.at(deadline, () => {
        settled = true;
        reject(this.expired(what));
      });
      work().then(
        (value) => {
          if (settled) return;
          settled = true;
          timer.cancel();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          timer.cancel();
          reject(toBackendError(error, what));
        },
      );
    });
  }

  /** Refuse every later operation; waiting ones fail now (nothing was sent). */
  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const op of waiting)
      op.fail(
        new BackendUnavailableError('The Redis backend closed before Redis was reachable.', {
          details: { sent: false },
        }),
      );
  }

  /** Try the waiting operations again shortly (the socket may become writable without an event). */
  private retrySoon(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drain();
    }, 10);
    this.retryTimer.unref();
  }

  /** Start the operations that waited for the connection, oldest first. */
  private drain(): void {
    if (this.client.status !== 'ready') return;
    for (const op of [...this.waiting]) op.start();
  }

  /** The offline buffer is full: fail fast, nothing was sent. */
  private bufferFull(what: string): BackendUnavailableError {
    return new BackendUnavailableError(
      `Cannot ${what}: Redis is unreachable and ${this.waiting.size} operations already wait for it (offlineQueueLimit).`,
      {
        details: {
          limit: this.settings.offlineQueueLimit,
          status: this.client.status,
          sent: false,
        },
      },
    );
  }

  private neverSent(what: string): Error {
    return new BackendUnavailableError(
      `Cannot ${what}: Redis was unreachable until the deadline (nothing was sent).`,
      {
        details: {
          status: this.client.status,
          timeout: this.settings.operationTimeout,
          sent: false,
        },
      },
    );
  }

  private expired(what: string): Error {
    const details = { status: this.client.status, timeout: this.settings.operationTimeout };
    if (this.client.status !== 'ready') {
      return new BackendUnavailableError(
        `Cannot ${what}: Redis was unreachable until the deadline.`,
        { details },
      );
    }
    return new TimeoutError(`Redis did not answer in time to ${what}.`, { details });
  }
}

/** Arguments of a command for {@link CommandRunner.send}, or its whole frame (see `setFrame`). */
export type CommandArgs = Array<string | Buffer | number> | Buffer;

function write(client: Redis, name: string, args: CommandArgs): Promise<unknown> {
  return Buffer.isBuffer(args) ? rawFrame(client, name, args) : rawCommand(client, name, args);
}

/**
 * One command of {@link CommandRunner.send}: settles its caller once (reply, error, deadline or
 * dropped connection) and calls `done` once when Redis answered or the connection dropped.
 * Its steps are fields made once per command, so sending allocates no closure per step.
 */
class SentCommand implements CommandCaller {
  timer: DeadlineEntry | undefined;
  private settled = false;
  private over = false;

  constructor(
    private readonly runner: CommandRunner,
    readonly what: string,
    private readonly resolve: ((value: unknown) => void) | undefined,
    private readonly reject: ((error: Error) => void) | undefined,
    private readonly done: (() => void) | undefined,
    private readonly answer?: unknown,
  ) {}

  get waiting(): boolean {
    return !this.settled;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  readonly answered = (value: unknown): void => {
    this.end();
    if (this.settle()) this.resolve?.(this.answer === undefined ? value : this.answer);
  };

  readonly failed = (error: unknown): void => {
    this.end();
    if (this.settle()) this.reject?.(error as Error);
  };

  readonly expire = (): void => {
    this.settled = true;
    this.reject?.(this.runner.timedOut(this.what));
  };

  /** The connection dropped before the reply. */
  dropped(status: string): void {
    this.end(false);
    if (this.settle())
      this.reject?.(
        new BackendUnavailableError(
          'The connection to Redis dropped before it answered; the command may or may not have run.',
          { details: { status } },
        ),
      );
  }

  gaveUp(): Error {
    return new BackendUnavailableError(`Cannot ${this.what}: the caller gave up.`, {
      details: { sent: false },
    });
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.timer?.cancel();
    return true;
  }

  private end(forget = true): void {
    if (this.over) return;
    this.over = true;
    if (forget) this.runner.forget(this);
    this.done?.();
  }
}

/**
 * ioredis (5.x) drops the commands of a lost connection without settling them when
 * `autoResendUnfulfilledCommands` is off, so an auto-pipeline in flight then never finishes
 * and its slot stays marked running: every later auto-pipelined command on that client would
 * queue behind it forever (each failing at its deadline). Their callers were already failed
 * by the runner, so the marks are dropped and later pipelines run.
 */
function forgetRunningAutoPipelines(client: Redis): void {
  const running = (client as unknown as { _runningAutoPipelines?: Set<string> })
    ._runningAutoPipelines;
  running?.clear();
}

/** True when `error` says the operation never left this process (safe to forget or retry). */
export function wasNotSent(error: unknown): boolean {
  return isPlugboardError(error) && error.details['sent'] === false;
}

/** Any failure of a Redis command, as the Plugboard error building blocks understand. */
export function toBackendError(error: unknown, what: string): Error {
  if (isPlugboardError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  // ioredis refuses to write on a connection that is not ready (no offline queue): not sent.
  const details = message.startsWith("Stream isn't writeable") ? { sent: false } : {};
  return new BackendUnavailableError(`Cannot ${what}: ${message}`, { cause: error, details });
}
