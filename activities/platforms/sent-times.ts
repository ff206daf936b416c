/**
 * When a process's requests to one account actually left, the last `limit` of them or so. The
 * shared log in Postgres holds the slots it granted, but a request can leave later than its slot
 * (the grant came back after it, or its timer fired late on a busy event loop) and then bunch with
 * the requests of the slots after it: the platform counts requests as they arrive, and refuses
 * the one over its limit with a `429` that holds the whole account for a second.
 */
export class SentTimes {
  private readonly times: number[] = [];

  /** The earliest moment one more request may leave: at most `limit` in any `windowMs`. */
  nextAt(limit: number, windowMs: number): number {
    const bound = this.times[this.times.length - limit];
    return bound === undefined ? Number.NEGATIVE_INFINITY : bound + windowMs;
  }

  record(at: number, limit: number): void {
    this.times.push(at);
    // Kept short: only the last `limit` are ever read (twice that, trimmed now and then).
    if (this.times.length > 2 * limit) this.times.splice(0, this.times.length - limit);
  }
}
