/** The health answer's facts as sentences a marketer understands. */
import type { z } from 'zod';
import type { healthAnswerSchema } from '../../api/console-schemas.js';

/** What GET /api/marketing/health answers, as the API's own schema says. */
export type HealthAnswer = z.infer<typeof healthAnswerSchema>;
type PlatformHealth = HealthAnswer['platforms'][number];

export interface HealthPart {
  name: string;
  /** working, needs attention, or not known yet (no worker has checked it lately). */
  state: 'working' | 'needs attention' | 'not checked yet';
  lines: string[];
}

const when = (iso: string): string =>
  new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

const PLATFORM_STATES: Record<PlatformHealth['status'], HealthPart['state']> = {
  ok: 'working',
  key_refused: 'needs attention',
  unreachable: 'needs attention',
  not_checked: 'not checked yet',
};

const PLATFORM_NAMES: Record<string, string> = { resend: 'Resend', loops: 'Loops' };

export function healthInWords(answer: HealthAnswer): HealthPart[] {
  const database = answer.database.status === 'ok';
  const temporal = answer.temporal.status === 'ok';
  return [
    {
      name: 'Database',
      state: database ? 'working' : 'needs attention',
      lines: [
        database
          ? 'The database with your users is reachable.'
          : 'The database cannot be reached: no sync or preview can read users until it is back.',
      ],
    },
    {
      name: 'Temporal',
      state: temporal ? 'working' : 'needs attention',
      lines: [
        temporal
          ? 'Temporal, which runs syncs and resumes them after a failure, is reachable.'
          : 'Temporal cannot be reached: no sync can start or continue until it is back.',
      ],
    },
    ...answer.platforms.map(platformInWords),
  ];
}

function platformInWords(platform: PlatformHealth): HealthPart {
  const name = PLATFORM_NAMES[platform.platform] ?? platform.platform;
  return {
    name,
    state: PLATFORM_STATES[platform.status],
    lines: [connectionInWords(name, platform), rateInWords(platform), webhooksInWords(platform)],
  };
}

function connectionInWords(name: string, platform: PlatformHealth): string {
  const checked = platform.checkedAt ? ` (checked ${when(platform.checkedAt)})` : '';
  switch (platform.status) {
    case 'ok':
      return `${name} answers and accepts the API key${checked}.`;
    case 'key_refused':
      return `${name} refuses the API key${checked}: syncs to it fail until the key is replaced.`;
    case 'unreachable':
      return `${name} cannot be reached${checked}: syncs wait and keep retrying.`;
    default:
      return platform.configured
        ? `${name} has not been checked lately: no worker is running, or none has ${name} set up.`
        : `No worker has checked ${name} yet; a running worker checks it every minute.`;
  }
}

function rateInWords(platform: PlatformHealth): string {
  const { learned, heldUntil } = platform.rateLimit;
  const held =
    heldUntil && new Date(heldUntil).getTime() > Date.now()
      ? ` It asked to slow down: syncs wait until ${when(heldUntil)}.`
      : '';
  return learned
    ? `It allows ${learned} requests a second, and syncs stay within that.${held}`
    : `How many requests a second it allows is learned during the first sync.${held}`;
}

function webhooksInWords(platform: PlatformHealth): string {
  const { webhooks } = platform;
  if (!webhooks.configured) {
    return 'Webhooks are not set up: unsubscribes are learned when syncs read the contacts, not the moment they happen.';
  }
  if (webhooks.failingSince) {
    return `Webhooks are set up, but deliveries have been refused since ${when(webhooks.failingSince)}: check the signing secret.`;
  }
  return webhooks.lastDeliveryAt
    ? `Webhooks are set up; the last event arrived ${when(webhooks.lastDeliveryAt)}.`
    : 'Webhooks are set up; no event has arrived yet.';
}
