import type { ByteBudget } from './byte-budget.js';
import type { CommandRunner } from './connection.js';
import { evalScript, type LuaScript } from './scripts.js';

/**
 * Scripts whose arguments carry payload bytes: the bytes count against the backend's byte budget
 * from the call until Redis answers or the connection drops, not until the caller gives up (a
 * frozen Redis keeps them in this process). Past the budget a call is refused unsent
 * (`BackpressureError`).
 */
export class BudgetedScripts {
  /** Releases of the budget taken by scripts written and not answered yet. */
  private readonly written = new Set<() => void>();

  constructor(
    private readonly runner: CommandRunner,
    private readonly budget: ByteBudget,
  ) {
    // Commands of a dropped connection are never answered (no resend): their bytes are gone.
    runner.client.on('close', () => {
      const lost = [...this.written];
      this.written.clear();
      for (const release of lost) release();
    });
  }

  run(
    what: string,
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | Buffer | number)[],
    bytes: number,
  ): Promise<unknown> {
    let taken: () => void;
    try {
      taken = this.budget.take(bytes, what);
    } catch (error) {
      return Promise.reject(error);
    }
    const release = (): void => {
      this.written.delete(release);
      taken();
    };
    let sent: Promise<unknown> | undefined;
    const outcome = this.runner.run(what, (client, caller) => {
      sent = evalScript(client, script, keys, args, caller);
      // Marked at once: the connection may drop before the runner settles (see 'close').
      this.written.add(release);
      return sent;
    });
    const settled = (): void => {
      if (sent === undefined) release();
      else sent.then(release, release);
    };
    outcome.then(settled, settled);
    return outcome;
  }
}
