export type RequestOutcome =
  | 'ok'
  | 'client_error'
  | 'rate_limited'
  | 'storm_rate_limited'
  | 'server_error'
  | 'accept_then_fail'
  | 'hang'
  | 'unauthorized';

export interface RequestLogEntry {
  seq: number;
  /** Arrival time, ISO 8601; the same instant the rate limiter used. */
  at: string;
  method: string;
  /** Path without the query string. */
  path: string;
  /** 0 for a request left hanging. */
  status: number;
  outcome: RequestOutcome;
  /** What the request was about: an email, `contact→segment`, a segment name or an identifier. */
  key?: string;
  durationMs: number;
  /** The team whose rate limit the request counted against, once authenticated. */
  team?: string;
  /** Injected latency, when any. */
  faultLatencyMs?: number;
}

export interface RequestLogQuery {
  sinceSeq?: number;
  method?: string;
  pathPrefix?: string;
  limit: number;
}

/** The last N answered requests, in arrival order, for tests to inspect. */
export class RequestLog {
  private readonly ring: (RequestLogEntry | undefined)[];
  private nextSeq = 1;
  /** Sequence numbers are never reused; a reset only hides everything before this one. */
  private firstSeq = 1;

  constructor(capacity: number) {
    this.ring = new Array(Math.max(1, capacity));
  }

  /** Requests seen since the last reset, including those still in flight. */
  get total(): number {
    return this.nextSeq - this.firstSeq;
  }

  reserveSeq(): number {
    return this.nextSeq++;
  }

  /** Records a finished request under the sequence number it got on arrival. */
  record(entry: RequestLogEntry): void {
    if (entry.seq < this.firstSeq || entry.seq <= this.nextSeq - 1 - this.ring.length) return;
    this.ring[entry.seq % this.ring.length] = entry;
  }

  query(query: RequestLogQuery): RequestLogEntry[] {
    const newest = this.nextSeq - 1;
    const oldest = Math.max(
      this.firstSeq,
      newest - this.ring.length + 1,
      (query.sinceSeq ?? 0) + 1,
    );
    const method = query.method?.toUpperCase();
    const found: RequestLogEntry[] = [];
    for (let seq = oldest; seq <= newest && found.length < query.limit; seq += 1) {
      const entry = this.ring[seq % this.ring.length];
      if (!entry || entry.seq !== seq) continue;
      if (method && entry.method !== method) continue;
      if (query.pathPrefix && !entry.path.startsWith(query.pathPrefix)) continue;
      found.push(entry);
    }
    return found;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.firstSeq = this.nextSeq;
  }
}
