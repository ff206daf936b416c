export type {
  FaultConfig,
  RateLimitStorm,
  ResendEmulatorOptions,
  RouteMatcher,
} from './options.js';
export type { RequestLogEntry, RequestOutcome } from './request-log.js';
export { type StartedResendEmulator, startResendEmulator } from './server.js';
