import { recordColumns, type Sql } from './sql.js';

/**
 * Webhook endpoints registered with a platform's API: where,
 * for which events, and the signing secret the platform returned, which the API's webhook route
 * verifies with when no secret is configured.
 */
export interface WebhookRegistration {
  platform: string;
  account: string;
  endpointId: string;
  url: string;
  events: string[];
  secret: string;
  registeredAt: Date;
}

const REGISTRATION_COLUMNS = recordColumns<WebhookRegistration>()([
  'platform',
  'account',
  'endpoint_id',
  'url',
  'events',
  'secret',
  'registered_at',
]);

export async function readWebhookRegistration(
  sql: Sql,
  platform: string,
  account: string,
): Promise<WebhookRegistration | undefined> {
  const [row] = await sql<WebhookRegistration[]>`
    select ${sql.unsafe(REGISTRATION_COLUMNS)}
    from audience_sync.webhook_registrations
    where platform = ${platform} and account = ${account}`;
  return row;
}

/** The newest signing secret registered for the platform (any account), if any. */
export async function registeredWebhookSecret(
  sql: Sql,
  platform: string,
): Promise<string | undefined> {
  const [row] = await sql<{ secret: string }[]>`
    select secret from audience_sync.webhook_registrations
    where platform = ${platform} order by registered_at desc limit 1`;
  return row?.secret;
}

export async function saveWebhookRegistration(
  sql: Sql,
  registration: Omit<WebhookRegistration, 'registeredAt'>,
): Promise<void> {
  await sql`
    insert into audience_sync.webhook_registrations
      (platform, account, endpoint_id, url, events, secret)
    values (${registration.platform}, ${registration.account}, ${registration.endpointId},
      ${registration.url}, ${registration.events}, ${registration.secret})
    on conflict (platform, account) do update set
      endpoint_id = excluded.endpoint_id, url = excluded.url, events = excluded.events,
      secret = excluded.secret, registered_at = now()`;
}

/** The platforms with a registered endpoint (any account), for the health route. */
export async function platformsWithRegisteredWebhook(sql: Sql): Promise<string[]> {
  const rows = await sql<{ platform: string }[]>`
    select distinct platform from audience_sync.webhook_registrations`;
  return rows.map((row) => row.platform);
}
