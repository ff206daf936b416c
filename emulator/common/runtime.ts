import type { ServerResponse } from 'node:http';
import { type FaultConfig, FaultInjector } from './faults.js';
import type { PipelineHost } from './pipeline.js';
import { FixedWindowRateLimiter } from './rate-limiter.js';
import { RequestLog } from './request-log.js';
import { TimerRegistry } from './timers.js';

export interface RuntimeOptions {
  rateLimit: number;
  seed: number;
  faults: FaultConfig;
  requestLogLimit: number;
}

/** What every emulator runs on: its timers, rate limiter, faults, request log and hung answers. */
export class EmulatorRuntime implements PipelineHost {
  readonly timers = new TimerRegistry();
  /** Answers deliberately left unanswered, closed when the emulator closes. */
  readonly hanging = new Set<ServerResponse>();
  readonly rateLimiter: FixedWindowRateLimiter;
  readonly faults: FaultInjector;
  readonly log: RequestLog;

  constructor(options: RuntimeOptions) {
    this.rateLimiter = new FixedWindowRateLimiter(options.rateLimit);
    this.faults = new FaultInjector(options.seed);
    this.faults.set(options.faults, Date.now());
    this.log = new RequestLog(options.requestLogLimit);
  }

  setFaults(faults: FaultConfig, seed?: number): void {
    this.faults.set(faults, Date.now(), seed);
  }

  /** Cancels pending timers and closes hung answers, so nothing fires into a closed emulator. */
  stopPendingWork(): void {
    this.timers.clear();
    this.releaseHanging();
  }

  releaseHanging(): void {
    for (const response of this.hanging) response.destroy();
    this.hanging.clear();
  }

  /** Pending work, the log, the rate-limit windows and the faults; the limit itself stays. */
  protected resetRuntime(): void {
    this.stopPendingWork();
    this.log.clear();
    this.rateLimiter.reset();
    this.faults.set({}, Date.now());
  }
}
