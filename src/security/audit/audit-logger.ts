import type { PluginScope } from '../../context/plugin-scope.js';
import type { AuditCore } from './audit-core.js';
import type { AuditEntry, AuditEntryInput, AuditLogger } from './types.js';

/**
 * The promise `auditLogger.log` returns: it knows whether anyone waits for it (`then`, `catch`,
 * `finally` and `await` all go through `then`, since a subclass instance is not adopted as is).
 * Derived promises are plain ones.
 */
class LogWrite<T> extends Promise<T> {
  observed = false;

  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

/**
 * Return `write` so that a caller who awaits it gets its failure, while a failure nobody waits
 * for (the call made without `await`) goes to `report` instead of becoming an unhandled
 * rejection. Exactly one of the two sees each failure.
 */
function observable<T>(write: Promise<T>, report: (error: unknown) => void): Promise<T> {
  let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
  const result = new LogWrite<T>((resolve, reject) => (settle = { resolve, reject }));
  // Marked handled without counting as an observer.
  void Promise.prototype.then.call(result, undefined, () => undefined);
  void write.then(settle.resolve, (error: unknown) => {
    settle.reject(error);
    // `await` subscribes a few microtasks after the call: judge once those have run.
    setImmediate(() => {
      if (!result.observed) report(error);
    });
  });
  return result;
}

/** `context.auditLogger` for one plugin: its entries carry the plugin's real name. */
export function createAuditLogger(
  core: AuditCore,
  scope: PluginScope,
  report: (error: unknown) => void,
): AuditLogger {
  const write = (entry: AuditEntryInput): Promise<AuditEntry> => {
    try {
      scope.guard?.assert('audit', 'write', typeof entry?.action === 'string' ? entry.action : '');
    } catch (error) {
      return Promise.reject(error);
    }
    return core.log(scope.pluginId, entry);
  };
  return {
    log: (entry) => observable(write(entry), report),
    query: async (filter) => {
      scope.guard?.assert('audit', 'read', '*');
      return core.query(filter);
    },
    verify: async () => {
      scope.guard?.assert('audit', 'read', '*');
      return core.verify();
    },
  };
}
