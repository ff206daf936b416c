import 'zod-openapi';
import { z } from 'zod';
import { SYNC_TYPES } from '../common/sync.js';

/**
 * Request and answer schemas. The same objects validate requests and generate /openapi.json, so
 * the documentation cannot drift from what the API accepts.
 */

const NO_NUL = 'must not contain a NUL character (\\u0000)';
const withoutNul = (value: string): boolean => !value.includes('\u0000');

/**
 * Every free-form string the API accepts (strings held to a pattern exclude NUL by it). Postgres
 * text cannot hold NUL (U+0000), so such a value is refused here, naming its field, before
 * anything starts, instead of failing a run later.
 */
export const storableString = (error = 'must be a string') =>
  z
    .string({ error })
    // Abort: the other checks of such a value (length, pattern) would only add noise.
    .refine(withoutNul, { message: NO_NUL, abort: true });

const activeDays = z
  .int({ error: 'must be a whole number from 1 to 3650' })
  .min(1, 'must be a whole number from 1 to 3650')
  .max(3650, 'must be a whole number from 1 to 3650')
  .meta({ description: 'Activity window in days, used when filterActive is true.', example: 30 });

const filterActive = z
  .boolean({ error: 'must be true or false' })
  .meta({ description: 'Only users active within activeDays.', example: true });

export const previewQuerySchema = z
  .object({
    filterActive: z
      .enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0' })
      .transform((value) => value === 'true' || value === '1')
      .default(false)
      .meta({ description: 'Only users active within activeDays.' }),
    activeDays: z
      .string({ error: 'must be a whole number from 1 to 3650' })
      .regex(/^\d{1,4}$/, 'must be a whole number from 1 to 3650')
      .transform(Number)
      .pipe(activeDays)
      .default(30)
      .meta({ description: 'Activity window in days (1..3650).' }),
  })
  .meta({ id: 'PreviewQuery' });

export const syncUsersBodySchema = z
  .strictObject({
    audienceName: storableString()
      .trim()
      .min(1, 'must be 1 to 120 characters')
      .max(120, 'must be 1 to 120 characters')
      .optional()
      .meta({ description: 'Defaults to "Audience [YYYY-MM-DD]" (UTC date of the request).' }),
    audienceDescription: storableString()
      .max(1000, 'must be at most 1000 characters')
      .optional()
      .meta({ description: 'Kept with the run and in the workflow memo.' }),
    filterActive: filterActive.default(false),
    activeDays: activeDays.default(30),
  })
  .meta({ id: 'SyncUsersRequest' });

const userId = z
  .union([z.string().trim().min(1).max(200), z.int()], {
    error: 'must be a user id (a string or an integer)',
  })
  .transform(String)
  // Checked after the union: a branch refused inside it reads as "neither string nor integer".
  .refine(withoutNul, NO_NUL);

export const syncBodySchema = z
  .strictObject({
    platform: storableString('is required: "resend"').meta({
      description: 'The marketing platform. Only "resend" for now.',
      example: 'resend',
    }),
    list_id: storableString()
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .optional()
      .meta({ description: 'An existing list (Resend segment) to sync into.' }),
    list_name: storableString()
      .trim()
      .min(1, 'must be 1 to 120 characters')
      .max(120, 'must be 1 to 120 characters')
      .optional()
      .meta({ description: 'Name of the new list when list_id is absent.' }),
    sync_type: z
      .enum(SYNC_TYPES, { error: 'must be one of all, new, specific' })
      .default('all')
      .meta({
        description:
          'all: every eligible user; new: never synced into that list; specific: user_ids.',
      }),
    user_ids: z
      .array(userId, { error: 'must be a list of user ids' })
      .max(10_000, 'must have at most 10000 ids')
      .optional(),
    tags: z
      .array(
        storableString()
          .trim()
          .min(1, 'must be 1 to 50 characters')
          .max(50, 'must be 1 to 50 characters'),
        { error: 'must be a list of names' },
      )
      .max(20, 'must have at most 20 tags')
      .optional()
      .meta({
        description: 'Each tag is a list of that exact name; every synced contact joins it.',
      }),
    filterActive: filterActive.default(false),
    activeDays: activeDays.default(30),
  })
  .superRefine((body, context) => {
    if (body.sync_type === 'specific' && (body.user_ids?.length ?? 0) === 0) {
      context.addIssue({
        code: 'custom',
        path: ['user_ids'],
        message: 'is required and must not be empty when sync_type is specific',
      });
    }
    if (body.sync_type !== 'specific' && body.user_ids !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['user_ids'],
        message: 'is only used when sync_type is specific',
      });
    }
    if (body.list_id !== undefined && body.list_name !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['list_name'],
        message: 'names a new list; leave it out when list_id is given',
      });
    }
  })
  .meta({ id: 'SyncRequest' });

export const runIdParamsSchema = z.object({
  runId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'is not a run id')
    .meta({ description: 'The run id (Temporal workflow id) returned when the sync started.' }),
});

// --- Answers (documentation) -------------------------------------------------------------

export const errorSchema = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().meta({ example: 'invalid_request' }),
      message: z.string(),
      details: z.array(z.record(z.string(), z.unknown())).optional(),
    }),
  })
  .meta({ id: 'Error' });

export const progressSchema = z
  .object({
    total: z.int(),
    processed: z.int(),
    added: z.int(),
    failed: z.int(),
    skipped: z.int(),
  })
  .meta({ id: 'Progress' });

export const audienceSchema = z
  .object({ id: z.string(), name: z.string() })
  .meta({ id: 'Audience' });

export const previewAnswerSchema = z
  .object({
    success: z.literal(true),
    count: z.int(),
    sample: z.array(
      z.object({
        email: z.string(),
        full_name: z.string().nullable(),
        first_name: z.string().nullable(),
        last_name: z.string().nullable(),
      }),
    ),
    filters: z.object({ filterActive: z.boolean(), activeDays: z.int(), activeSince: z.string() }),
  })
  .meta({ id: 'PreviewAnswer' });

export const syncUsersAnswerSchema = z
  .object({
    success: z.literal(true),
    audience: audienceSchema,
    contactsAdded: z.int(),
    contactsFailed: z.int(),
    contactsSkipped: z.int(),
    message: z.string(),
    runId: z.string(),
  })
  .meta({ id: 'SyncUsersAnswer' });

export const syncAnswerSchema = z
  .object({
    success: z.literal(true),
    message: z.literal('Sync completed successfully'),
    synced: z.int(),
    failed: z.int(),
    skipped: z.int(),
    list_id: z.string(),
    runId: z.string(),
  })
  .meta({ id: 'SyncAnswer' });

export const runningAnswerSchema = z
  .object({
    success: z.literal(true),
    status: z.literal('running'),
    runId: z.string(),
    audience: audienceSchema.optional(),
    progress: progressSchema,
    statusUrl: z.string(),
  })
  .meta({ id: 'RunningAnswer' });

export const runStatusSchema = z
  .object({
    success: z.literal(true),
    runId: z.string(),
    status: z.enum(['running', 'paused', 'completed', 'failed', 'cancelled']),
    audience: audienceSchema.nullable(),
    progress: progressSchema,
    startedAt: z.string(),
    platformUnavailableSince: z
      .string()
      .optional()
      .meta({ description: 'While the platform keeps failing the run: since when' }),
    finishedAt: z.string().optional(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    rejected: z.array(z.object({ userId: z.string(), reason: z.string() })),
  })
  .meta({ id: 'RunStatus' });

export const runControlAnswerSchema = z
  .object({
    success: z.literal(true),
    runId: z.string(),
    status: z.enum(['paused', 'running']),
    progress: progressSchema,
    message: z.string(),
  })
  .meta({ id: 'RunControlAnswer' });
