/** What the rate-limit headers of one answer say. */
export interface RateLimitWindow {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (always 1 with one-second windows, as the API reports). */
  resetSeconds: number;
}

const WINDOW_MS = 1000;

/**
 * Per-team fixed windows aligned to wall-clock seconds. Only admitted requests count: a 429 does
 * not use up the next request's room. Node runs each `take` to completion, so concurrent requests
 * are counted exactly in arrival order.
 */
export class FixedWindowRateLimiter {
  private readonly windows = new Map<string, { window: number; count: number }>();

  constructor(private limit: number) {}

  get requestsPerSecond(): number {
    return this.limit;
  }

  setLimit(requestsPerSecond: number): void {
    this.limit = requestsPerSecond;
  }

  take(team: string, nowMs: number): RateLimitWindow {
    const state = this.current(team, nowMs);
    const allowed = state.count < this.limit;
    if (allowed) state.count += 1;
    return this.describe(state.count, nowMs, allowed);
  }

  /** The window as it stands, without counting a request. */
  peek(team: string, nowMs: number): RateLimitWindow {
    return this.describe(this.current(team, nowMs).count, nowMs, true);
  }

  reset(): void {
    this.windows.clear();
  }

  private current(team: string, nowMs: number): { window: number; count: number } {
    const window = Math.floor(nowMs / WINDOW_MS);
    let state = this.windows.get(team);
    if (!state || state.window !== window) {
      state = { window, count: 0 };
      this.windows.set(team, state);
    }
    return state;
  }

  private describe(count: number, nowMs: number, allowed: boolean): RateLimitWindow {
    const untilNextWindow = WINDOW_MS - (nowMs % WINDOW_MS);
    return {
      allowed,
      limit: this.limit,
      remaining: Math.max(0, this.limit - count),
      resetSeconds: Math.max(1, Math.ceil(untilNextWindow / WINDOW_MS)),
    };
  }
}
