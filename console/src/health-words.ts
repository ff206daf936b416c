/** The health answer's facts as sentences a marketer understands. */

export interface HealthAnswer {
  database?: { ok?: boolean; status?: string };
  temporal?: { ok?: boolean; status?: string };
  platforms?: PlatformHealth[];
}

export interface PlatformHealth {
  name: string;
  reachable?: boolean;
  keyAccepted?: boolean | null;
  rateLimit?: number | null;
  webhooks?: { configured?: boolean; lastDeliveryAt?: string | null; failures?: number };
}

export interface HealthPart {
  name: string;
  ok: boolean;
  lines: string[];
}

const isOk = (part: { ok?: boolean; status?: string } | undefined) =>
  part?.ok ?? part?.status === 'ok';

export function healthInWords(answer: HealthAnswer): HealthPart[] {
  const database = isOk(answer.database);
  const temporal = isOk(answer.temporal);
  return [
    {
      name: 'Database',
      ok: database,
      lines: [
        database
          ? 'The database with your users is reachable.'
          : 'The database cannot be reached: syncs, previews and this console cannot read users.',
      ],
    },
    {
      name: 'Temporal',
      ok: temporal,
      lines: [
        temporal
          ? 'Temporal, which runs and resumes syncs, is reachable.'
          : 'Temporal cannot be reached: no sync can start or continue until it is back.',
      ],
    },
    ...(answer.platforms ?? []).map(platformInWords),
  ];
}

function platformInWords(platform: PlatformHealth): HealthPart {
  const lines: string[] = [];
  const name = platform.name.charAt(0).toUpperCase() + platform.name.slice(1);
  lines.push(
    platform.reachable === false
      ? `${name} cannot be reached; syncs wait and retry.`
      : `${name} answers.`,
  );
  if (platform.keyAccepted === false) {
    lines.push(`${name} refuses the API key: syncs to it fail until the key is fixed.`);
  } else if (platform.keyAccepted === true) {
    lines.push(`${name} accepts the API key.`);
  }
  lines.push(
    platform.rateLimit
      ? `It allows ${platform.rateLimit} requests a second; syncs stay within that.`
      : 'Its request limit is not known yet: it is learned during the first sync.',
  );
  const webhooks = platform.webhooks;
  if (!webhooks?.configured) {
    lines.push(
      'Webhooks are not set up: unsubscribes are learned when syncs read the contacts instead of at once.',
    );
  } else {
    lines.push(
      webhooks.lastDeliveryAt
        ? `Webhooks are set up; the last event arrived ${new Date(webhooks.lastDeliveryAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })}.`
        : 'Webhooks are set up; no event has arrived yet.',
    );
    if (webhooks.failures) lines.push(`${webhooks.failures} webhook deliveries were refused.`);
  }
  const ok = platform.reachable !== false && platform.keyAccepted !== false;
  return { name, ok, lines };
}
