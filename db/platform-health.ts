import { recordColumns, type Sql } from './sql.js';

/**
 * What the service knows of the health of each platform: the workers' access checks (reachable,
 * key accepted), the rate limit each account's gate learned, and how the webhook endpoints'
 * deliveries went. Workers and the API write it; the health route reads it. Account ids are
 * hashes, messages are the service's own words: no personal data.
 */

export type AccessOutcome = 'ok' | 'key_refused' | 'unreachable';

export interface PlatformCheck {
  platform: string;
  account: string;
  outcome: AccessOutcome;
  message: string;
}

export async function recordPlatformCheck(sql: Sql, check: PlatformCheck): Promise<void> {
  await sql`
    insert into audience_sync.platform_checks (platform, account, checked_at, outcome, message)
    values (${check.platform}, ${check.account}, now(), ${check.outcome}, ${check.message})
    on conflict (platform, account) do update set
      checked_at = excluded.checked_at, outcome = excluded.outcome, message = excluded.message`;
}

/** How often the workers, together, check each platform account. */
export const PLATFORM_CHECK_INTERVAL_MS = 60_000;

/** True when a worker checked the account within the last `ms` (by the database's clock). */
export async function checkedWithin(
  sql: Sql,
  platform: string,
  account: string,
  ms: number,
): Promise<boolean> {
  const [row] = await sql`
    select 1 from audience_sync.platform_checks
    where platform = ${platform} and account = ${account}
      and checked_at > now() - make_interval(secs => ${ms / 1000})`;
  return row !== undefined;
}

/** The limit a platform announced for an account (and the bound kept whatever it says). */
export async function recordLearnedLimit(
  sql: Sql,
  key: string,
  limit: number,
  bound: number | undefined,
): Promise<void> {
  await sql`
    insert into audience_sync.rate_limits (key, learned_limit, learned_at, limit_bound)
    values (${key}, ${limit}, now(), ${bound ?? null})
    on conflict (key) do update set learned_limit = excluded.learned_limit,
      learned_at = excluded.learned_at, limit_bound = excluded.limit_bound`;
}

export interface PlatformHealthRecord extends PlatformCheck {
  checkedAt: Date;
  learnedLimit: number | null;
  learnedAt: Date | null;
  limitBound: number | null;
  /** After a 429 every worker holds its requests until then. */
  heldUntil: Date | null;
}

/** Read from the latest check (`c`) and from the account's rate gate (`r`). */
const CHECK_COLUMNS = recordColumns<PlatformCheck & { checkedAt: Date }>('c')([
  'platform',
  'account',
  'outcome',
  'message',
  'checked_at',
]);
const RATE_GATE_COLUMNS = recordColumns<
  Pick<PlatformHealthRecord, 'learnedLimit' | 'learnedAt' | 'limitBound'>
>('r')(['learned_limit', 'learned_at', 'limit_bound']);

/** The most recently checked account of each platform, with what its rate gate learned. */
export async function readPlatformHealth(sql: Sql): Promise<PlatformHealthRecord[]> {
  return sql<PlatformHealthRecord[]>`
    select distinct on (c.platform) ${sql.unsafe(CHECK_COLUMNS)}, ${sql.unsafe(RATE_GATE_COLUMNS)},
      case when r.blocked_until > now() then r.blocked_until end as "heldUntil"
    from audience_sync.platform_checks c
    left join audience_sync.rate_limits r on r.key = c.account
    order by c.platform, c.checked_at desc`;
}

/** A delivery to a platform's webhook endpoint: accepted (null), or refused with this status. */
export async function recordWebhookDelivery(
  sql: Sql,
  platform: string,
  refusedWithStatus: number | null,
): Promise<void> {
  if (refusedWithStatus === null) {
    await sql`
      insert into audience_sync.webhook_endpoints (platform, last_delivery_at)
      values (${platform}, now())
      on conflict (platform) do update set last_delivery_at = now(), failing_since = null`;
    return;
  }
  await sql`
    insert into audience_sync.webhook_endpoints
      (platform, failing_since, last_failure_at, last_failure_status)
    values (${platform}, now(), now(), ${refusedWithStatus})
    on conflict (platform) do update set
      failing_since = coalesce(audience_sync.webhook_endpoints.failing_since, now()),
      last_failure_at = now(), last_failure_status = excluded.last_failure_status`;
}

export interface WebhookEndpointRecord {
  platform: string;
  lastDeliveryAt: Date | null;
  failingSince: Date | null;
  lastFailureAt: Date | null;
  lastFailureStatus: number | null;
}

const WEBHOOK_ENDPOINT_COLUMNS = recordColumns<WebhookEndpointRecord>()([
  'platform',
  'last_delivery_at',
  'failing_since',
  'last_failure_at',
  'last_failure_status',
]);

export async function readWebhookEndpoints(sql: Sql): Promise<WebhookEndpointRecord[]> {
  return sql<WebhookEndpointRecord[]>`
    select ${sql.unsafe(WEBHOOK_ENDPOINT_COLUMNS)}
    from audience_sync.webhook_endpoints`;
}
