export type { RequestLogEntry, RequestOutcome } from '../common/request-log.js';
export type {
  FaultConfig,
  RateLimitStorm,
  ResendEmulatorOptions,
  RouteMatcher,
} from './options.js';
export { type StartedResendEmulator, startResendEmulator } from './server.js';
