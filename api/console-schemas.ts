import { z } from 'zod';
import type { ZodOpenApiOverrideMetaContext } from 'zod-openapi';
import { PLATFORM_NAMES } from '../activities/platforms/registry.js';
import { SYNC_MODES, SYNC_TYPES } from '../common/sync.js';
import {
  audienceSchema,
  LIST_ID,
  LIST_ID_MESSAGE,
  progressSchema,
  storableString,
} from './schemas.js';

/**
 * Schemas of the routes the console reads, which machines use too: the runs list, a run's users,
 * the health of what the service depends on, and the console's sign-in. As in schemas.ts, the
 * same objects validate requests and write /openapi.json.
 */

/**
 * A whole number in a query string: the text must spell it (no `1e1`, `0x10` or ` 5`), and the
 * document says `integer`, as it does for a body field.
 */
const queryInteger = (min: number, max: number, fallback: number, description: string) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string({ error: message })
    .regex(/^\d{1,9}$/, message)
    .transform(Number)
    .pipe(z.int({ error: message }).min(min, message).max(max, message))
    .default(fallback)
    .meta({
      description,
      override: ({ jsonSchema }: ZodOpenApiOverrideMetaContext) => {
        delete jsonSchema.pattern;
        Object.assign(jsonSchema, {
          type: 'integer',
          minimum: min,
          maximum: max,
          default: fallback,
        });
      },
    });
};

/** Cursors are opaque: base64url text this API wrote. */
const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,512}$/, 'must be the `next` of an earlier answer')
  .optional()
  .meta({ description: 'The `next` of the previous page; absent: the first page' });

const next = z.string().nullable().meta({
  description: 'Pass as `cursor` to read the next page; null: this was the last page',
});

export const RUN_STATUSES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;

export const runsQuerySchema = z
  .strictObject({
    status: z
      .enum(RUN_STATUSES, { error: `must be one of ${RUN_STATUSES.join(', ')}` })
      .optional()
      .meta({ description: 'Only runs in this state (`paused` runs are running runs on hold)' }),
    list_id: storableString()
      .regex(LIST_ID, LIST_ID_MESSAGE)
      .trim()
      .optional()
      .meta({ description: 'Only runs into this list (for Resend: a segment id)' }),
    platform: z
      .enum(PLATFORM_NAMES, { error: `must be one of ${PLATFORM_NAMES.join(', ')}` })
      .optional()
      .meta({ description: 'Only runs on this platform' }),
    limit: queryInteger(1, 200, 50, 'Runs per page (1..200, default 50)'),
    cursor,
  })
  .meta({ id: 'RunsQuery' });

/** Users of a run by what became of them; `updated` rows are added users whose fields were patched. */
export const USER_OUTCOMES = ['added', 'updated', 'skipped', 'failed'] as const;

/** Reasons are codes the service writes, such as `opted_out` or `rejected_by_platform:…`. */
const REASON = /^[A-Za-z0-9_.:-]{1,200}$/;

export const runUsersQuerySchema = z
  .strictObject({
    outcome: z
      .enum(USER_OUTCOMES, { error: `must be one of ${USER_OUTCOMES.join(', ')}` })
      .optional()
      .meta({
        description:
          "Only users with this outcome. `added` and `updated` together are the run's `added` count: `updated` are those whose fields the run patched.",
      }),
    reason: z
      .string()
      .regex(REASON, 'must be a reason code, like opted_out (letters, digits, _ . : -)')
      .optional()
      .meta({ description: 'Only users skipped or failed for this reason', example: 'opted_out' }),
    limit: queryInteger(1, 1000, 100, 'Users per page (1..1000, default 100); a CSV has them all'),
    cursor,
    format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).optional().meta({
      description:
        '`csv`: the CSV download, as with `Accept: text/csv`, for a link in a page (a browser following a link cannot choose its Accept header)',
    }),
  })
  .meta({ id: 'RunUsersQuery' });

const reasonCounts = z.record(z.string(), z.int());

export const runSummarySchema = z
  .object({
    runId: z.string(),
    platform: z.string(),
    status: z.enum(RUN_STATUSES),
    dryRun: z
      .boolean()
      .meta({ description: 'A dry run: nothing was written; its plan is in the run status' }),
    syncType: z.enum(SYNC_TYPES),
    mode: z.enum(SYNC_MODES),
    trigger: z.enum(['api', 'schedule']).meta({
      description: 'api: started through the API (the console included); schedule: by a schedule',
    }),
    scheduleId: z.string().nullable(),
    audience: audienceSchema.nullable().meta({ description: 'The list, once the run has it' }),
    listName: z
      .string()
      .nullable()
      .meta({ description: "The list's name, also before the run created the list" }),
    tags: z.array(z.string()),
    progress: progressSchema,
    message: z
      .string()
      .meta({ description: 'What happened, in one sentence, as the run status says' }),
    reasons: z
      .object({ skipped: reasonCounts, failed: reasonCounts })
      .meta({ description: 'Skipped and failed users counted by reason' }),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    platformUnavailableSince: z
      .string()
      .optional()
      .meta({ description: 'While the platform keeps failing the run: since when' }),
    bulk: z.object({ mode: z.enum(['imports', 'per_contact']), message: z.string() }).optional(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    temporal: z.literal('unavailable').optional().meta({
      description:
        'Temporal could not be asked whether the running runs still run: the records answer alone',
    }),
  })
  .meta({ id: 'RunSummary' });

export const runsAnswerSchema = z
  .object({ success: z.literal(true), runs: z.array(runSummarySchema), next })
  .meta({ id: 'Runs' });

export const runUserSchema = z
  .object({
    userId: z.string(),
    outcome: z.enum(USER_OUTCOMES),
    reason: z.string().nullable().meta({ description: 'Why a user was skipped or failed' }),
  })
  .meta({ id: 'RunUser' });

export const runUsersAnswerSchema = z
  .object({
    success: z.literal(true),
    runId: z.string(),
    users: z.array(runUserSchema),
    next,
  })
  .meta({ id: 'RunUsers' });

export const sessionBodySchema = z
  .strictObject({
    secret: z
      .string({ error: 'is required: the marketing API secret' })
      .min(1, 'is required: the marketing API secret')
      .max(1024, 'must be at most 1024 characters')
      .meta({ description: 'MARKETING_API_SECRET' }),
  })
  .meta({ id: 'SessionRequest' });

export const sessionAnswerSchema = z
  .object({
    success: z.literal(true),
    csrfToken: z.string().meta({
      description:
        'Send it as X-CSRF-Token with every request other than GET made with the session cookie',
    }),
    expiresAt: z.iso
      .datetime()
      .meta({ description: 'When the session ends (12 hours after sign-in)' }),
  })
  .meta({ id: 'Session' });

export const signedOutSchema = z
  .object({ success: z.literal(true), signedOut: z.literal(true) })
  .meta({ id: 'SignedOut' });

const partHealth = z.object({
  status: z.enum(['ok', 'unreachable']),
  message: z.string(),
});

const HEALTH_CHECK_STATUSES = ['ok', 'key_refused', 'unreachable', 'not_checked'] as const;

export const platformHealthSchema = z
  .object({
    platform: z.string(),
    configured: z.boolean().meta({
      description: 'A worker has this platform configured (it checked the platform at least once)',
    }),
    account: z.string().nullable().meta({
      description: 'The account the credentials belong to, as a hash (never the key itself)',
    }),
    status: z.enum(HEALTH_CHECK_STATUSES).meta({
      description:
        'The last check: ok, key_refused (the platform refuses the key), unreachable, or not_checked (no worker has checked lately)',
    }),
    reachable: z.boolean().nullable().meta({ description: 'null: not known' }),
    keyAccepted: z.boolean().nullable().meta({ description: 'null: not known' }),
    checkedAt: z.string().nullable().meta({ description: 'When a worker last checked' }),
    message: z.string(),
    rateLimit: z.object({
      learned: z
        .int()
        .nullable()
        .meta({ description: 'Requests per second the platform announced; null: not learned yet' }),
      learnedAt: z.string().nullable(),
      heldUntil: z.string().nullable().meta({
        description: 'The platform answered 429: every worker waits until then',
      }),
    }),
    webhooks: z.object({
      configured: z.boolean().meta({ description: 'The API has the signing secret' }),
      lastDeliveryAt: z.string().nullable().meta({ description: 'The last delivery accepted' }),
      failingSince: z
        .string()
        .nullable()
        .meta({ description: 'Deliveries refused since then, none accepted after' }),
      lastFailure: z
        .object({ at: z.string(), status: z.int() })
        .nullable()
        .meta({ description: 'The last delivery refused, and the HTTP status it got' }),
    }),
  })
  .meta({ id: 'PlatformHealth' });

export const healthAnswerSchema = z
  .object({
    success: z.literal(true),
    checkedAt: z.iso.datetime(),
    database: partHealth,
    temporal: partHealth,
    platforms: z.array(platformHealthSchema),
  })
  .meta({ id: 'ServiceHealth' });
