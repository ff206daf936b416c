import type { Client } from '@temporalio/client';
import { type Request, type Response, Router } from 'express';
import {
  PLATFORM_CHECK_INTERVAL_MS,
  type PlatformHealthRecord,
  readPlatformHealth,
  readWebhookEndpoints,
  type WebhookEndpointRecord,
} from '../../db/platform-health.js';
import type { Sql } from '../../db/sql.js';
import { platformsWithRegisteredWebhook } from '../../db/webhook-registrations.js';
import { checkDependencies } from './operations.js';

/** A check older than this many intervals: no worker has checked lately. */
const STALE_AFTER_MS = 5 * PLATFORM_CHECK_INTERVAL_MS;

export interface HealthRouteDeps {
  sql: Sql;
  temporal: Client;
  /** The platforms this deployment configures (their credentials are set), in the registry's order. */
  platforms: readonly string[];
  /** Platforms whose webhook signing secret is configured (registered ones are read per answer). */
  webhooksConfigured: Record<string, boolean>;
}

const labelOf = (platform: string) => `${platform.charAt(0).toUpperCase()}${platform.slice(1)}`;
const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;

/** The access check's part of a platform's health, in words an operator can act on. */
function accessOf(platform: string, record: PlatformHealthRecord | undefined, databaseUp: boolean) {
  const label = labelOf(platform);
  const unknown = { reachable: null, keyAccepted: null, status: 'not_checked' as const };
  if (!databaseUp) {
    return {
      ...unknown,
      message: `The database does not answer, so what the workers found of ${label} is not known`,
    };
  }
  if (!record) {
    return {
      ...unknown,
      message: `No worker has checked ${label} yet: is a worker running with its key set?`,
    };
  }
  if (Date.now() - record.checkedAt.getTime() > STALE_AFTER_MS) {
    return {
      ...unknown,
      message: `No worker has checked ${label} since ${record.checkedAt.toISOString()}: is a worker running?`,
    };
  }
  switch (record.outcome) {
    case 'ok':
      return {
        reachable: true,
        keyAccepted: true,
        status: 'ok' as const,
        message: `${label} answers and accepts the API key`,
      };
    case 'key_refused':
      return {
        reachable: true,
        keyAccepted: false,
        status: 'key_refused' as const,
        message: `${label} refuses the API key: ${record.message}`,
      };
    case 'unreachable':
      return {
        reachable: false,
        keyAccepted: null,
        status: 'unreachable' as const,
        message: `${label} cannot be reached: ${record.message}`,
      };
  }
}

function platformHealth(
  platform: string,
  record: PlatformHealthRecord | undefined,
  endpoint: WebhookEndpointRecord | undefined,
  deps: { databaseUp: boolean; webhooksConfigured: boolean },
) {
  return {
    platform,
    configured: record !== undefined,
    account: record?.account ?? null,
    ...accessOf(platform, record, deps.databaseUp),
    checkedAt: iso(record?.checkedAt),
    rateLimit: {
      learned: record?.learnedLimit ?? null,
      learnedAt: iso(record?.learnedAt),
      heldUntil: iso(record?.heldUntil),
    },
    webhooks: {
      configured: deps.webhooksConfigured,
      lastDeliveryAt: iso(endpoint?.lastDeliveryAt),
      failingSince: iso(endpoint?.failingSince),
      lastFailure:
        endpoint?.lastFailureAt && endpoint.lastFailureStatus !== null
          ? { at: endpoint.lastFailureAt.toISOString(), status: endpoint.lastFailureStatus }
          : null,
    },
  };
}

/**
 * `GET /api/marketing/health`: Postgres, Temporal and each platform (reachable and key accepted,
 * as a worker last found; the rate limit its gate learned; webhooks and their last delivery).
 * Always 200 with what each part says: a monitor reads the parts, the console shows them.
 */
async function healthAnswer(deps: HealthRouteDeps, _req: Request, res: Response): Promise<void> {
  const parts = await checkDependencies(deps);
  const databaseUp = parts.database === 'ok';
  const [records, endpoints, registered] = databaseUp
    ? await Promise.all([
        readPlatformHealth(deps.sql),
        readWebhookEndpoints(deps.sql),
        platformsWithRegisteredWebhook(deps.sql),
      ]).catch(() => [[], [], []] as [PlatformHealthRecord[], WebhookEndpointRecord[], string[]])
    : [[], [], []];
  res.json({
    success: true,
    checkedAt: new Date().toISOString(),
    database: {
      status: parts.database,
      message: databaseUp ? 'The database answers' : 'The database does not answer',
    },
    temporal: {
      status: parts.temporal,
      message: parts.temporal === 'ok' ? 'Temporal answers' : 'Temporal does not answer',
    },
    platforms: deps.platforms.map((platform) =>
      platformHealth(
        platform,
        records.find((record) => record.platform === platform),
        endpoints.find((endpoint) => endpoint.platform === platform),
        {
          databaseUp,
          webhooksConfigured:
            (deps.webhooksConfigured[platform] ?? false) || registered.includes(platform),
        },
      ),
    ),
  });
}

export function healthRouter(deps: HealthRouteDeps): Router {
  const router = Router();
  router.get('/', (req, res) => healthAnswer(deps, req, res));
  return router;
}
