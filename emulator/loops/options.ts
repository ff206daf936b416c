import type { FaultConfig } from '../common/faults.js';
import type { LoopsEventName } from './webhooks.js';

export interface MailingListInput {
  /** Chosen id; a Loops-shaped one is generated when omitted. */
  id?: string;
  name: string;
  description?: string | null;
  isPublic?: boolean;
}

export interface LoopsWebhookInput {
  url: string;
  /** `whsec_` + base64; generated when omitted. */
  secret?: string;
  /** Events sent; all of them when omitted or empty. */
  events?: LoopsEventName[];
}

export interface LoopsEmulatorOptions {
  /** 0 = any free port (default 0 in-process). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Requests per second per team, default 10 (Loops' baseline). */
  rateLimit?: number;
  /** Accepted keys; default: any key. */
  apiKeys?: string[];
  /** Team of each key, for the per-team rate limit. Keys not listed belong to the team `default`. */
  apiKeyTeams?: Record<string, string>;
  /** What `GET /v1/api-key` calls the team. */
  teamName?: string;
  /** Seed of the fault randomness, default 1. */
  seed?: number;
  faults?: FaultConfig;
  /** Max entries kept in the request log (a ring), default 100_000. */
  requestLogLimit?: number;
  /** The team's mailing lists; default one demo list. */
  mailingLists?: MailingListInput[];
  /** Custom properties must exist before a contact write uses them. Default true. */
  requireDefinedProperties?: boolean;
  /** Suppression removals allowed (Loops: per rolling 30 days), default 10. */
  suppressionRemovalQuota?: number;
  /** The account's one webhook endpoint. */
  webhook?: LoopsWebhookInput;
  webhookRetryDelaysMs?: number[];
  /** First delivery attempts per second, default 10 (Loops' documented rate). */
  webhookMaxPerSecond?: number;
}

export const DEMO_MAILING_LIST: MailingListInput = {
  name: 'Demo mailing list',
  description: 'Created by the Loops emulator',
  isPublic: true,
};

export type ResolvedLoopsOptions = Required<
  Omit<LoopsEmulatorOptions, 'apiKeys' | 'webhook' | 'webhookRetryDelaysMs'>
> &
  Pick<LoopsEmulatorOptions, 'apiKeys' | 'webhook' | 'webhookRetryDelaysMs'>;

export function resolveLoopsOptions(options: LoopsEmulatorOptions = {}): ResolvedLoopsOptions {
  return {
    ...options,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    rateLimit: options.rateLimit ?? 10,
    apiKeyTeams: options.apiKeyTeams ?? {},
    teamName: options.teamName ?? 'Emulated team',
    seed: options.seed ?? 1,
    faults: options.faults ?? {},
    requestLogLimit: options.requestLogLimit ?? 100_000,
    mailingLists: options.mailingLists ?? [DEMO_MAILING_LIST],
    requireDefinedProperties: options.requireDefinedProperties ?? true,
    suppressionRemovalQuota: options.suppressionRemovalQuota ?? 10,
    webhookMaxPerSecond: options.webhookMaxPerSecond ?? 10,
  };
}
