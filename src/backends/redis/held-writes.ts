import type { Redis } from 'ioredis';
import type { ByteBudget } from './byte-budget.js';
import type { CommandCaller, CommandRunner } from './connection.js';

/**
 * Commands that carry payload bytes (queue payloads, cache values, transaction work): the bytes
 * count against the backend's byte budget from the call until Redis answers or the connection
 * drops, not until the caller gives up, since a frozen Redis keeps them in this process. Past
 * the budget a call is refused unsent (`BackpressureError`).
 */
export class HeldWrites {
  /** Releases of the budget taken by commands written and not answered yet. */
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

  /** Run `command` through the runner (by `deadline`, if given) holding `bytes` meanwhile. */
  run<T>(
    what: string,
    bytes: number,
    command: (client: Redis, caller: CommandCaller) => Promise<T>,
    deadline?: number,
  ): Promise<T> {
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
    let sent: Promise<T> | undefined;
    const outcome = this.runner.run(
      what,
      (client, caller) => {
        sent = command(client, caller);
        // Marked at once, not once the runner settled: the connection may drop first, and
        // then the reply never comes (its 'close' releases what is marked).
        this.written.add(release);
        return sent;
      },
      deadline,
    );
    const settled = (): void => {
      if (sent === undefined) release();
      else sent.then(release, release);
    };
    outcome.then(settled, settled);
    return outcome;
  }
}
