/**
 * What this process knows of the offset between its own clock (`Date.now()`) and Redis's
 * (`TIME`), learned from replies that carry Redis's time. Used to tell a script "do nothing
 * if you run after this moment" in Redis's terms, whatever the skew between the two clocks.
 *
 * A reply that says Redis's time was `redisNow`, for a command sent at local `sentAt` and
 * answered at local `receivedAt`, proves `redisNow - receivedAt <= offset <= redisNow - sentAt`
 * (the command ran somewhere between the two). The estimate is the largest lower bound seen:
 * never more than the true offset, so a bound built on it never lands later than meant. A
 * reply whose upper bound is below the estimate proves the estimate wrong (a clock was
 * stepped): the estimate starts again from that reply.
 */
export class RedisClock {
  private offset: number | undefined;

  /** Whether any reply has told this clock Redis's time yet. */
  get known(): boolean {
    return this.offset !== undefined;
  }

  /** Learn from a reply carrying Redis's time `redisNow` (epoch ms). */
  sample(redisNow: number, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(redisNow)) return;
    const low = redisNow - receivedAt;
    const high = redisNow - sentAt;
    if (this.offset === undefined || high < this.offset) this.offset = low;
    else if (low > this.offset) this.offset = low;
  }

  /**
   * A Redis time that every script starting after local time `localMs` sees passed (one
   * starting shortly before may see it passed too: by how much the estimate is low), or
   * undefined while the offset is unknown.
   */
  toRedis(localMs: number): number | undefined {
    return this.offset === undefined ? undefined : Math.floor(localMs + this.offset);
  }
}
