import { Router } from 'express';
import type { z } from 'zod';
import type { MaxRemovals, Platform, SyncRequest } from '../../common/sync.js';
import { answerLaunch, completedMessage, dryRunFields } from '../answers.js';
import { ApiError } from '../errors.js';
import {
  requireKnownPlatform,
  requirePlatformRules,
  requireUsablePlatform,
} from '../platform-rules.js';
import { syncBodySchema } from '../schemas.js';
import type { SyncLauncher } from '../sync-launcher.js';
import { parseInput } from '../validation.js';
import { launchOptions } from './launch-options.js';
import { defaultAudienceName } from './sync-users.js';

/** A validated POST /sync body, its platform one this service supports. */
export type SyncBody = Omit<z.infer<typeof syncBodySchema>, 'platform'> & { platform: Platform };

/**
 * Validates a POST /sync body, with the rules of the platform it names (list_required,
 * unsupported_option, its property keys); schedules store the same body.
 */
export function parseSyncBody(body: unknown): SyncBody {
  const parsed = parseInput(syncBodySchema, body ?? {}, 'body');
  requireKnownPlatform(parsed.platform);
  requirePlatformRules(parsed);
  return parsed;
}

/** Turns a validated POST /sync body into a run request. */
export function syncRequestFromParsedBody(
  parsed: SyncBody,
  trigger: SyncRequest['trigger'],
  now: Date,
): SyncRequest {
  return {
    platform: parsed.platform,
    ...(parsed.list_id !== undefined ? { listId: parsed.list_id } : {}),
    listName: parsed.list_name ?? (parsed.list_id ? parsed.list_id : defaultAudienceName(now)),
    syncType: parsed.sync_type,
    ...(parsed.user_ids ? { userIds: [...new Set(parsed.user_ids)] } : {}),
    tags: [...new Set(parsed.tags ?? [])],
    filterActive: parsed.filterActive,
    activeDays: parsed.activeDays,
    ...(parsed.properties && Object.keys(parsed.properties).length > 0
      ? { properties: parsed.properties }
      : {}),
    trigger,
    // Only what was asked for, so requests without these options stay as they were.
    ...(parsed.mode !== 'add' ? { mode: parsed.mode } : {}),
    ...(parsed.max_removals !== undefined
      ? { maxRemovals: parsed.max_removals as MaxRemovals }
      : {}),
    ...(parsed.dry_run ? { dryRun: true } : {}),
  };
}

/**
 * Turns a POST /sync body into a run request; schedules store the same body. With `configured`
 * (the platforms this deployment has credentials for), the platform must be one of them and
 * able to sync.
 */
export function syncRequestFromBody(
  body: unknown,
  trigger: SyncRequest['trigger'],
  now: Date = new Date(),
  configured?: ReadonlySet<string>,
): SyncRequest {
  const parsed = parseSyncBody(body);
  if (configured) requireUsablePlatform(parsed.platform, configured);
  return syncRequestFromParsedBody(parsed, trigger, now);
}

/** Finds the columns of the users relation a property mapping names that it does not have. */
export type ColumnCheck = (columns: string[]) => Promise<string[]>;

/** What a property mapping may name: PROPERTY_COLUMNS, then the relation's own columns. */
export interface PropertyColumns {
  allowed: readonly string[];
  unknownColumns: ColumnCheck;
  /** Throws UsersSourceError when the relation cannot serve a run (checked before a schedule). */
  checkUsersSource?: () => Promise<void>;
}

/**
 * A mapping naming a column PROPERTY_COLUMNS does not list (`400 column_not_allowed`), or one the
 * users relation lacks (`400 unknown_column`), is refused before anything starts. Allowed columns
 * are checked first, so the answer says nothing about columns nobody may send.
 */
export async function requireKnownColumns(
  request: SyncRequest,
  columns: PropertyColumns,
): Promise<void> {
  const mapping = Object.entries(request.properties ?? {});
  if (mapping.length === 0) return;
  const notAllowed = mapping.filter(([, column]) => !columns.allowed.includes(column));
  if (notAllowed.length > 0) throw columnNotAllowed(notAllowed, columns.allowed);
  const unknown = new Set(await columns.unknownColumns(mapping.map(([, column]) => column)));
  const refused = mapping.filter(([, column]) => unknown.has(column));
  if (refused.length === 0) return;
  throw new ApiError(
    400,
    'unknown_column',
    `The users relation has no column ${refused.map(([, column]) => JSON.stringify(column)).join(', ')}`,
    refused.map(([key, column]) => ({
      field: `properties.${key}`,
      message: `names the column ${JSON.stringify(column)}, which the users relation does not have`,
    })),
  );
}

const columnNotAllowed = (refused: [string, string][], allowed: readonly string[]): ApiError =>
  new ApiError(
    400,
    'column_not_allowed',
    `properties may send only the columns PROPERTY_COLUMNS lists (${allowed.length > 0 ? allowed.join(', ') : 'none'}); not ${refused.map(([, column]) => JSON.stringify(column)).join(', ')}`,
    refused.map(([key, column]) => ({
      field: `properties.${key}`,
      message: `names the column ${JSON.stringify(column)}, which PROPERTY_COLUMNS does not list`,
    })),
  );

/** SPEC's POST /api/marketing/sync: any platform, list, sync type and tags. */
export function syncRouter(deps: {
  launcher: SyncLauncher;
  now: () => Date;
  propertyColumns: PropertyColumns;
  /** The platforms this deployment has credentials for. */
  configuredPlatforms: ReadonlySet<string>;
}): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const body = parseSyncBody(req.body);
    requireUsablePlatform(body.platform, deps.configuredPlatforms);
    const request = syncRequestFromParsedBody(body, 'api', deps.now());
    await requireKnownColumns(request, deps.propertyColumns);
    const launch = await deps.launcher.launch(
      request,
      launchOptions(req, `sync-${request.syncType}`, body),
    );
    await answerLaunch(res, deps.launcher, launch, (result) => ({
      success: true,
      message: completedMessage(result),
      synced: result.progress.added,
      failed: result.progress.failed,
      skipped: result.progress.skipped,
      removed: result.progress.removed ?? 0,
      unsubscribed: result.progress.unsubscribed ?? 0,
      updated: result.progress.updated,
      list_id: result.listId,
      runId: result.runId,
      ...dryRunFields(result),
    }));
  });
  return router;
}
