/**
 * Timers the emulator owns (injected latency, queued imports), so reset and close can cancel
 * every pending one and nothing fires into a closed emulator.
 */
export class TimerRegistry {
  private readonly timeouts = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();

  after(ms: number, callback: () => void): void {
    const handle = setTimeout(() => {
      this.timeouts.delete(handle);
      callback();
    }, ms);
    this.timeouts.add(handle);
  }

  soon(callback: () => void): void {
    const handle = setImmediate(() => {
      this.immediates.delete(handle);
      callback();
    });
    this.immediates.add(handle);
  }

  /**
   * Resolves after at least `ms`, or never when the registry is cleared first. A timer can fire a
   * little early (the event loop measures from a cached time), so the rest is waited out.
   */
  delay(ms: number): Promise<void> {
    const until = performance.now() + ms;
    return new Promise((resolve) => {
      const check = () => {
        const left = until - performance.now();
        if (left > 0) this.after(Math.ceil(left), check);
        else resolve();
      };
      check();
    });
  }

  clear(): void {
    for (const handle of this.timeouts) clearTimeout(handle);
    for (const handle of this.immediates) clearImmediate(handle);
    this.timeouts.clear();
    this.immediates.clear();
  }
}
