import { setTimeout as sleep } from 'node:timers/promises';
import { PlatformError, type PlatformModule } from '../activities/platforms/platform.js';
import { createPlatformRegistry, type PlatformRegistry } from '../activities/platforms/registry.js';
import {
  type AccessOutcome,
  checkedWithin,
  PLATFORM_CHECK_INTERVAL_MS,
  recordPlatformCheck,
} from '../db/platform-health.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../telemetry/logger.js';

/**
 * The workers hold the platforms' keys, so they answer the health route's questions: every
 * interval, one of them asks each platform account one cheap question through its gate (the
 * platform's access check) and records whether it answered and accepted the key. The answer's
 * headers teach the gate the rate limit, which it keeps in Postgres too.
 */
export interface PlatformChecks {
  stop(): Promise<void>;
}

const outcomeOf = (error: unknown): { outcome: AccessOutcome; message: string } => {
  if (error instanceof PlatformError && error.code === 'platform_auth_failed') {
    return { outcome: 'key_refused', message: error.message };
  }
  return {
    outcome: 'unreachable',
    message:
      error instanceof PlatformError
        ? error.message
        : `The check failed (${error instanceof Error ? error.name : 'unknown error'})`,
  };
};

/** Checks one platform account unless another worker did within most of the interval. */
async function checkPlatform(
  sql: Sql,
  registry: PlatformRegistry,
  module: PlatformModule,
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (await checkedWithin(sql, module.name, module.account, intervalMs * 0.8)) return;
  const found = await registry.checkAccess(module.name, { signal, onAnswer: () => {} }).then(
    (checked) =>
      checked ? { outcome: 'ok' as const, message: 'Answered and accepted the key' } : undefined,
    (error: unknown) => {
      if (signal.aborted) return undefined;
      return outcomeOf(error);
    },
  );
  if (!found) return;
  await recordPlatformCheck(sql, { platform: module.name, account: module.account, ...found });
}

export function startPlatformChecks(deps: {
  sql: Sql;
  platforms: PlatformModule[];
  logger: Logger;
  intervalMs?: number;
}): PlatformChecks {
  const intervalMs = deps.intervalMs ?? PLATFORM_CHECK_INTERVAL_MS;
  const registry = createPlatformRegistry(deps.sql, deps.platforms);
  const controller = new AbortController();
  const { signal } = controller;
  const loop = (async () => {
    while (!signal.aborted) {
      for (const module of deps.platforms) {
        await checkPlatform(deps.sql, registry, module, intervalMs, signal).catch(
          (error: unknown) =>
            deps.logger.warn({ err: error, platform: module.name }, 'platform check not recorded'),
        );
      }
      await sleep(intervalMs, undefined, { signal }).catch(() => {});
    }
  })();
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
