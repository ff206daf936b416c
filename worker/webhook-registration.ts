import type { PlatformModule } from '../activities/platforms/platform.js';
import { DECLARATIONS, settingsOf } from '../activities/platforms/registry.js';
import { createRequestGate } from '../activities/platforms/request-gate.js';
import type { WorkerConfig } from '../config/env.js';
import type { Sql } from '../db/sql.js';
import {
  readWebhookRegistration,
  saveWebhookRegistration,
  type WebhookRegistration,
} from '../db/webhook-registrations.js';
import type { Logger } from '../telemetry/logger.js';

/**
 * With PUBLIC_URL set, the worker registers `<PUBLIC_URL>/webhooks/<platform>` with each
 * platform whose API can register endpoints and whose signing secret is not configured. The
 * worker does it because it holds the platforms' clients (the API loads declarations only). The
 * endpoint's id, url, events and secret are kept in Postgres, where the API's webhook route
 * reads the secret; a restart with the same url registers nothing new, a new url replaces the
 * old endpoint. One worker at a time per account (an advisory lock, held outside any
 * transaction), so workers starting together register one endpoint; its requests pass the
 * account's request gate. A failure is logged and the worker runs on: consent is then
 * learned by the contact directory refresh only.
 */

const webhookUrl = (publicUrl: string, platform: string): string =>
  `${publicUrl.replace(/\/+$/, '')}/webhooks/${platform}`;

const sameRegistration = (
  previous: WebhookRegistration | undefined,
  next: { endpointId: string; url: string; secret: string },
) =>
  previous?.endpointId === next.endpointId &&
  previous.url === next.url &&
  previous.secret === next.secret;

/**
 * Runs `work` under the account's registration lock: a session advisory lock on a connection of
 * its own, so workers starting together register one endpoint, without a transaction open while
 * the platform answers. The lock goes with the connection if the worker dies.
 */
async function withRegistrationLock<T>(
  sql: Sql,
  module: PlatformModule,
  work: () => Promise<T>,
): Promise<T> {
  const lockKey = `webhook:${module.name}:${module.account}`;
  const connection = await sql.reserve();
  try {
    await connection`select pg_advisory_lock(hashtext(${lockKey}))`;
    try {
      return await work();
    } finally {
      await connection`select pg_advisory_unlock(hashtext(${lockKey}))`;
    }
  } finally {
    connection.release();
  }
}

async function registerOne(
  sql: Sql,
  config: WorkerConfig,
  module: PlatformModule,
  publicUrl: string,
): Promise<'registered' | 'kept' | 'skipped'> {
  const declaration = DECLARATIONS.find((each) => each.name === module.name);
  const webhook = declaration?.webhook;
  if (!declaration || !webhook?.register) return 'skipped';
  const settings = settingsOf(declaration, config);
  const configured = settings[webhook.secretSetting];
  if (typeof configured === 'string' && configured !== '') return 'skipped';
  const url = webhookUrl(publicUrl, module.name);
  // The platform's requests wait their turn with the account's other requests.
  const gate = createRequestGate(sql, module.account, module.limit);
  return withRegistrationLock(sql, module, async () => {
    const previous = await readWebhookRegistration(sql, module.name, module.account);
    const registered = await webhook.register?.(settings, {
      url,
      gate,
      ...(previous ? { previous } : {}),
    });
    if (!registered || sameRegistration(previous, registered)) return 'kept';
    await saveWebhookRegistration(sql, {
      platform: module.name,
      account: module.account,
      endpointId: registered.endpointId,
      url: registered.url,
      events: [...registered.events],
      secret: registered.secret,
    });
    return 'registered';
  });
}

/** Registers the webhook endpoints PUBLIC_URL calls for; never throws. */
export async function registerWebhookEndpoints(deps: {
  sql: Sql;
  config: WorkerConfig;
  platforms: PlatformModule[];
  logger: Logger;
}): Promise<void> {
  const publicUrl = deps.config.PUBLIC_URL;
  if (!publicUrl) return;
  for (const module of deps.platforms) {
    try {
      const outcome = await registerOne(deps.sql, deps.config, module, publicUrl);
      if (outcome !== 'skipped') {
        deps.logger.info({ platform: module.name, outcome }, 'webhook endpoint registration');
      }
    } catch (error) {
      // The message names the platform's status and words, never the key nor the secret.
      deps.logger.warn(
        { platform: module.name, reason: error instanceof Error ? error.message : 'unknown' },
        'webhook endpoint not registered; consent is learned by the directory refresh only',
      );
    }
  }
}
