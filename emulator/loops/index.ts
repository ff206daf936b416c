export type { FaultConfig, RouteMatcher } from '../common/faults.js';
export type { RequestLogEntry, RequestOutcome } from '../common/request-log.js';
export type { LoopsEmulatorOptions, LoopsWebhookInput, MailingListInput } from './options.js';
export { type StartedLoopsEmulator, startLoopsEmulator } from './server.js';
export { LOOPS_EVENTS, type LoopsEventName } from './webhooks.js';
