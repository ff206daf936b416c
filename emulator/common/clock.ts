/** A point in time as microseconds since the epoch; formatted only when answered. */
export type Micros = number;

/** Hands out strictly increasing microsecond timestamps, so creation order is never ambiguous. */
export class MicrosecondClock {
  private last = 0;

  nowMicros(): Micros {
    const candidate = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    this.last = candidate > this.last ? candidate : this.last + 1;
    return this.last;
  }
}
