import { z } from 'zod';
import type { ZodOpenApiOverrideMetaContext } from 'zod-openapi';
import {
  DECLARATIONS,
  DEFAULT_PLATFORM,
  PLATFORM_NAMES,
} from '../activities/platforms/registry.js';
import { SYNC_MODES, SYNC_TYPES } from '../common/sync.js';

/**
 * Request and answer schemas. The same objects validate requests and generate /openapi.json, so
 * the documentation cannot drift from what the API accepts.
 */

const NO_NUL = 'must not contain a NUL character (\\u0000)';
/** A pattern rather than a function, so that /openapi.json says it too. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the character it refuses
const WITHOUT_NUL = /^[^\u0000]*$/;

/**
 * Every free-form string the API accepts (strings held to a pattern exclude NUL by it). Postgres
 * text cannot hold NUL (U+0000), so such a value is refused here, naming its field, before
 * anything starts, instead of failing a run later.
 */
export const storableString = (error = 'must be a string') =>
  z
    .string({ error })
    // Abort: the other checks of such a value (length, pattern) would only add noise.
    .regex(WITHOUT_NUL, { message: NO_NUL, abort: true });

/** What `platform` may name, for the documentation. */
export const PLATFORM_DESCRIPTION = `The marketing platform: ${DECLARATIONS.map(
  ({ name, capabilities }) =>
    `"${name}" (lists are ${capabilities.listWord}s${
      capabilities.createsLists ? '' : ', list_id required'
    }${capabilities.tagsAsLists ? ', tags as lists' : ', no tags'})`,
).join(', ')}. POST /sync-users always uses "${DEFAULT_PLATFORM}".`;

// --- Rules across fields -----------------------------------------------------------------

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) fragment. */
type JsonSchema = Record<string, unknown>;

interface RuleIssue {
  path: string;
  message: string;
}

/**
 * A rule across the fields of a body, stated once: the same definition checks a parsed body
 * (after defaults) and writes the rule into /openapi.json as JSON Schema, so the two cannot
 * disagree. The JSON Schema sees the body as sent, so a rule on a field with a default reads a
 * missing field as that default.
 */
export interface BodyRule {
  /** The rule in a sentence, for the schema's description. */
  description: string;
  jsonSchema: JsonSchema;
  check(body: Record<string, unknown>): RuleIssue | undefined;
}

/** Exactly one of two fields. */
export const exactlyOneOf = (first: string, second: string, message: string): BodyRule => ({
  description: `Exactly one of \`${first}\` and \`${second}\`.`,
  jsonSchema: { oneOf: [{ required: [first] }, { required: [second] }] },
  check: (body) =>
    (body[first] === undefined) === (body[second] === undefined)
      ? { path: first, message }
      : undefined,
});

/** Two fields that exclude each other; the issue names the second. */
export const notBoth = (first: string, second: string, message: string): BodyRule => ({
  description: `\`${first}\` and \`${second}\` exclude each other.`,
  jsonSchema: { not: { required: [first, second] } },
  check: (body) =>
    body[first] !== undefined && body[second] !== undefined ? { path: second, message } : undefined,
});

/**
 * A list that is required, and not empty, exactly when another field has a given value (which is
 * not that field's default), and absent otherwise.
 */
export const listExactlyWhen = (
  list: string,
  when: { field: string; equals: string },
  messages: { required: string; unused: string },
): BodyRule => ({
  description: `\`${list}\` is required and not empty when \`${when.field}\` is \`${when.equals}\`, and absent otherwise.`,
  jsonSchema: {
    if: { properties: { [when.field]: { const: when.equals } }, required: [when.field] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else, never awaited
    then: { properties: { [list]: { minItems: 1 } }, required: [list] },
    else: { not: { required: [list] } },
  },
  check: (body) => {
    const value = body[list];
    if (body[when.field] === when.equals) {
      return Array.isArray(value) && value.length > 0
        ? undefined
        : { path: list, message: messages.required };
    }
    return value === undefined ? undefined : { path: list, message: messages.unused };
  },
});

/**
 * An object schema with rules across its fields: zod checks them after the fields' own checks,
 * and the component `id` in /openapi.json carries them (`allOf`) and says them (`description`).
 */
export function withRules<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape, z.core.$strict>,
  id: string,
  rules: BodyRule[],
) {
  return schema
    .superRefine((body, context) => {
      for (const rule of rules) {
        const issue = rule.check(body);
        if (issue) context.addIssue({ code: 'custom', path: [issue.path], message: issue.message });
      }
    })
    .meta({
      id,
      description: rules.map((rule) => rule.description).join(' '),
      override: ({ jsonSchema }: ZodOpenApiOverrideMetaContext) => {
        jsonSchema.allOf = rules.map((rule) => rule.jsonSchema);
      },
    });
}

/** `mode: "mirror"` is only for `sync_type: "all"` (the default). */
const mirrorNeedsAll: BodyRule = {
  description: '`mode` `mirror` needs `sync_type` `all`.',
  jsonSchema: {
    if: { properties: { mode: { const: 'mirror' } }, required: ['mode'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else, never awaited
    then: { properties: { sync_type: { const: 'all' } } },
  },
  check: (body) =>
    body.mode === 'mirror' && body.sync_type !== 'all'
      ? { path: 'mode', message: 'mirror needs sync_type all' }
      : undefined,
};

/** A field that means something only for mirror runs. */
const onlyWhenMirror = (field: string): BodyRule => ({
  description: `\`${field}\` is only for \`mode\` \`mirror\`.`,
  jsonSchema: {
    if: { required: [field] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else, never awaited
    then: { properties: { mode: { const: 'mirror' } }, required: ['mode'] },
  },
  check: (body) =>
    body[field] !== undefined && body.mode !== 'mirror'
      ? { path: field, message: 'is only used when mode is mirror' }
      : undefined,
});

// --- Fields ---------------------------------------------------------------------------------

/**
 * A character `String.prototype.trim` keeps: ECMAScript's white space and line terminators,
 * spelled out so that every regex engine reading the document (JSON Schema patterns are
 * ECMA-262, tools in other languages read them too) agrees on it.
 */
const TRIMMED_CHARACTERS =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const NOT_BLANK = new RegExp(`[^${TRIMMED_CHARACTERS}]`);

/**
 * A list id: what a platform calls its lists by (Resend: a segment id, a UUID), limited to the
 * characters ids are made of, so that it always names one path segment of the platform's API
 * (no `/`, `?`, `#`, `%` or `..`); with the white space around it that trimming takes off.
 */
export const LIST_ID = new RegExp(
  `^[${TRIMMED_CHARACTERS}]*[A-Za-z0-9][A-Za-z0-9._:-]{0,199}[${TRIMMED_CHARACTERS}]*$`,
);
export const LIST_ID_MESSAGE =
  'must be a list id: 1 to 200 letters, digits, dots, colons, dashes or underscores';

/**
 * A name or id: at most `max` characters as sent, at least one of them not blank (so it is not
 * empty once trimmed), trimmed once accepted. Both limits are on what the client sent, which is
 * what the document's `maxLength` and `pattern` say.
 */
export const trimmedText = (max: number, messages: { blank: string; long: string }) =>
  storableString()
    .max(max, { message: messages.long, abort: true })
    .regex(NOT_BLANK, { message: messages.blank, abort: true })
    .trim();

const ACTIVE_DAYS = { minimum: 1, maximum: 3650 };
const ACTIVE_DAYS_MESSAGE = `must be a whole number from ${ACTIVE_DAYS.minimum} to ${ACTIVE_DAYS.maximum}`;

const activeDays = z
  .int({ error: ACTIVE_DAYS_MESSAGE })
  .min(ACTIVE_DAYS.minimum, ACTIVE_DAYS_MESSAGE)
  .max(ACTIVE_DAYS.maximum, ACTIVE_DAYS_MESSAGE)
  .meta({ description: 'Activity window in days, used when filterActive is true.', example: 30 });

const filterActive = z
  .boolean({ error: 'must be true or false' })
  .meta({ description: 'Only users active within activeDays.', example: true });

const dryRun = z.boolean({ error: 'must be true or false' }).optional().meta({
  description:
    'Plan only: nothing is written to the platform (reads only), no list is created and the list is not held. The answer and the run status carry the plan: what a real run with the same body would do.',
  example: true,
});

const MAX_REMOVALS_MESSAGE =
  'must be a whole number of contacts (0 to 10000000) or a share of the list like "20%" (0% to 100%)';
const maxRemovals = z
  .union(
    [
      z.int().min(0, MAX_REMOVALS_MESSAGE).max(10_000_000, MAX_REMOVALS_MESSAGE),
      z.string().regex(/^(100|[1-9]?[0-9])%$/, MAX_REMOVALS_MESSAGE),
    ],
    { error: MAX_REMOVALS_MESSAGE },
  )
  .optional()
  .meta({
    description:
      'mirror: the most contacts the run may take out of the list, as a number or a share of its tracked members; a run that would remove more removes none and fails with removal_guard_tripped. Default "50%".',
    example: '20%',
  });

export const previewQuerySchema = z
  .object({
    filterActive: z
      .enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0' })
      .transform((value) => value === 'true' || value === '1')
      .default(false)
      .meta({ description: 'Only users active within activeDays.' }),
    activeDays: z
      .string({ error: ACTIVE_DAYS_MESSAGE })
      .regex(/^\d{1,4}$/, ACTIVE_DAYS_MESSAGE)
      .transform(Number)
      .pipe(activeDays)
      .default(30)
      .meta({
        description: 'Activity window in days (1..3650), used when filterActive is true.',
        // A query value is text; the document says what the text must spell: the body's integer.
        override: ({ jsonSchema }: ZodOpenApiOverrideMetaContext) => {
          delete jsonSchema.pattern;
          Object.assign(jsonSchema, { type: 'integer', ...ACTIVE_DAYS, default: 30 });
        },
      }),
  })
  .meta({ id: 'PreviewQuery' });

export const syncUsersBodySchema = z
  .strictObject({
    audienceName: trimmedText(120, {
      blank: 'must be 1 to 120 characters',
      long: 'must be 1 to 120 characters',
    })
      .optional()
      .meta({ description: 'Defaults to "Audience [YYYY-MM-DD]" (UTC date of the request).' }),
    audienceDescription: storableString()
      .max(1000, 'must be at most 1000 characters')
      .optional()
      .meta({ description: 'Kept with the run and in the workflow memo.' }),
    filterActive: filterActive.default(false),
    activeDays: activeDays.default(30),
    dry_run: dryRun,
  })
  .meta({ id: 'SyncUsersRequest' });

/** Property keys of any platform; each platform's own rule is checked with its request rules. */
const PROPERTY_KEY = /^[A-Za-z0-9_]{1,50}$/;
const PROPERTY_KEY_MESSAGE = 'property keys are 1 to 50 letters, digits or underscores';
const MAX_PROPERTIES = 20;

const userId = z
  .union([trimmedText(200, { blank: 'must not be blank', long: 'is too long' }), z.int()], {
    // A NUL is all that is wrong with such a string: say that, not "neither string nor integer".
    error: (issue) =>
      typeof issue.input === 'string' && !WITHOUT_NUL.test(issue.input)
        ? NO_NUL
        : 'must be a user id (a string or an integer)',
  })
  .transform(String);

export const syncBodySchema = withRules(
  z.strictObject({
    platform: storableString(
      `is required: ${PLATFORM_NAMES.map((name) => `"${name}"`).join(' or ')}`,
    ).meta({
      description: PLATFORM_DESCRIPTION,
      example: 'resend',
      // The route refuses other names with 400 unsupported_platform (checked there).
      override: { enum: [...PLATFORM_NAMES] },
    }),
    list_id: storableString().regex(LIST_ID, LIST_ID_MESSAGE).trim().optional().meta({
      description:
        'An existing list to sync into (Resend: a segment id; Loops: a mailing list id, required since Loops cannot create lists: list_required).',
    }),
    list_name: trimmedText(120, {
      blank: 'must be 1 to 120 characters',
      long: 'must be 1 to 120 characters',
    })
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
        trimmedText(50, {
          blank: 'must be 1 to 50 characters',
          long: 'must be 1 to 50 characters',
        }),
        { error: 'must be a list of names' },
      )
      .max(20, 'must have at most 20 tags')
      .optional()
      .meta({
        description:
          'Each tag is a list of that exact name; every synced contact joins it. Only on platforms with tag lists (Resend); elsewhere 400 unsupported_option.',
      }),
    filterActive: filterActive.default(false),
    activeDays: activeDays.default(30),
    mode: z.enum(SYNC_MODES, { error: 'must be add or mirror' }).default('add').meta({
      description:
        'add: only put users into the list. mirror (sync_type all only): also take out the contacts this service added whose user left the population.',
    }),
    max_removals: maxRemovals,
    dry_run: dryRun,
    properties: z
      .record(
        z.string().regex(PROPERTY_KEY, PROPERTY_KEY_MESSAGE),
        storableString('must name a column of the users relation')
          .min(1, 'must name a column of the users relation')
          .max(63, 'must name a column of the users relation (at most 63 characters)'),
        { error: 'must map property keys to column names' },
      )
      .refine((value) => Object.keys(value).length <= MAX_PROPERTIES, {
        message: `must map at most ${MAX_PROPERTIES} properties`,
      })
      .optional()
      .meta({
        description:
          'Contact properties to send: property key → column of the users relation. Only columns PROPERTY_COLUMNS lists may be named (any other → 400 column_not_allowed; empty by default); a column the relation lacks → 400 unknown_column. Text columns go as strings, numeric ones as numbers, booleans and timestamps (ISO 8601) as strings; NULL clears the property.',
        example: { plan: 'plan_name', seats: 'seat_count' },
        override: ({ jsonSchema }: ZodOpenApiOverrideMetaContext) => {
          jsonSchema.maxProperties = MAX_PROPERTIES;
        },
      }),
  }),
  'SyncRequest',
  [
    listExactlyWhen(
      'user_ids',
      { field: 'sync_type', equals: 'specific' },
      {
        required: 'is required and must not be empty when sync_type is specific',
        unused: 'is only used when sync_type is specific',
      },
    ),
    notBoth('list_id', 'list_name', 'names a new list; leave it out when list_id is given'),
    mirrorNeedsAll,
    onlyWhenMirror('max_removals'),
  ],
);

export const erasureBodySchema = z
  .strictObject({
    user_ids: z
      .array(userId, { error: 'must be a list of user ids' })
      .min(1, 'must name at least one user')
      .max(10_000, 'must have at most 10000 ids')
      .meta({ description: 'The users to erase: their contacts and every row naming them.' }),
  })
  .meta({ id: 'ErasureRequest' });

export const erasureIdParamsSchema = z.object({
  erasureId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,200}$/, 'is not an erasure id')
    .meta({ description: 'The erasure id returned when the erasure started.' }),
});

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
    removed: z.int().meta({ description: 'Contacts taken out of the list (mirror leavers).' }),
    unsubscribed: z
      .int()
      .meta({ description: 'Contacts marked unsubscribed (users who opted out).' }),
    updated: z.int().meta({
      description: 'Added or already-present users whose fields were patched (within `added`).',
    }),
  })
  .meta({ id: 'Progress' });

const planClassSchema = z
  .object({
    count: z.int(),
    userIds: z.array(z.string()).max(20).meta({ description: 'The first 20 user ids, by id' }),
  })
  .meta({ id: 'PlanClass' });

const planByReasonSchema = z.object({
  count: z.int(),
  byReason: z.record(z.string(), planClassSchema),
});

export const planSchema = z
  .object({
    list: z.object({
      id: z.string().nullable().meta({ description: 'null: a real run would create the list' }),
      name: z.string(),
      create: z.boolean().meta({ description: 'A real run would create the list' }),
    }),
    tagsToCreate: z.array(z.string()).meta({ description: 'Tag lists a real run would create' }),
    create: planClassSchema.meta({ description: 'Users whose contact would be created' }),
    join: planClassSchema.meta({
      description: 'Users whose existing contact would join the list',
    }),
    present: planClassSchema.meta({
      description: 'Users already in the list through this service: nothing to send',
    }),
    update: planClassSchema.meta({
      description:
        'Users of join or present whose changed fields would be patched (within join and present)',
    }),
    remove: planClassSchema.meta({
      description: 'mirror: leavers whose contact would be taken out of the list',
    }),
    unsubscribe: planClassSchema.meta({
      description:
        'Opted-out users (in the population or leavers) whose contact would be marked unsubscribed',
    }),
    skipped: planByReasonSchema,
    failed: planByReasonSchema,
    removalGuard: z
      .object({
        tracked: z.int(),
        wouldRemove: z.int(),
        maxRemovals: z.int(),
        tripped: z.boolean().meta({
          description: 'A real run would remove none and fail with removal_guard_tripped',
        }),
      })
      .optional()
      .meta({ description: 'mirror: the removal guard as a real run would meet it' }),
  })
  .meta({
    id: 'DryRunPlan',
    description:
      'What a real run with the same body would do when nothing changes meanwhile. Every user of the population is in exactly one of create, join, present, skipped and failed.',
  });

const dryRunAnswer = {
  dryRun: z.literal(true).optional().meta({ description: 'Present for a dry run' }),
  plan: planSchema.optional().meta({ description: 'A dry run: what a real run would do' }),
};

export const audienceSchema = z
  .object({ id: z.string(), name: z.string() })
  .meta({ id: 'Audience' });

export const previewAnswerSchema = z
  .object({
    success: z.literal(true),
    count: z.int().meta({
      description:
        'Contacts a sync with these filters would add: eligible users, one per distinct email, as of countedAt.',
    }),
    countedAt: z.iso.datetime().meta({
      description:
        'When count was counted (ISO time). Small users relations are counted for each request (countedAt is the request time); large ones answer with a count kept ahead of time, at most 60 seconds old, of users active since countedAt minus activeDays. The sample is always as of the request.',
      example: '2026-12-01T10:00:00.000Z',
    }),
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
    audience: z.object({
      id: z
        .string()
        .nullable()
        .meta({ description: 'null for a dry run (it creates no audience)' }),
      name: z.string(),
    }),
    contactsAdded: z.int().meta({ description: 'For a dry run: would be added' }),
    contactsFailed: z.int(),
    contactsSkipped: z.int(),
    contactsUpdated: z.int(),
    message: z.string(),
    runId: z.string(),
    ...dryRunAnswer,
  })
  .meta({ id: 'SyncUsersAnswer' });

export const syncAnswerSchema = z
  .object({
    success: z.literal(true),
    message: z.string().meta({
      description:
        '`Sync completed successfully` when nothing failed; otherwise `Sync completed with N failures: …`; for a dry run, what a real run would do ("Dry run, nothing written: a real run would …").',
      example: 'Sync completed successfully',
    }),
    synced: z.int().meta({ description: 'For a dry run: would be added' }),
    failed: z.int(),
    skipped: z.int(),
    removed: z.int(),
    unsubscribed: z.int(),
    updated: z.int(),
    list_id: z
      .string()
      .nullable()
      .meta({ description: 'null for a dry run into a new list (it creates none)' }),
    runId: z.string(),
    ...dryRunAnswer,
  })
  .meta({ id: 'SyncAnswer' });

export const runningAnswerSchema = z
  .object({
    success: z.literal(true),
    status: z.literal('running'),
    runId: z.string(),
    audience: audienceSchema.optional(),
    dryRun: z.literal(true).optional().meta({
      description: 'Present for a dry run: its plan is in the status once it completed',
    }),
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
    bulk: z
      .object({ mode: z.enum(['imports', 'per_contact']), message: z.string() })
      .optional()
      .meta({
        description:
          'How the run creates contacts new to the platform: in bulk imports, or one by one (and why)',
      }),
    finishedAt: z.string().optional(),
    temporal: z.literal('unavailable').optional().meta({
      description: 'Temporal did not answer in time: the view is the run record alone',
    }),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    message: z.string().meta({
      description:
        'What happened: completed (with how many failures), a dry run ("would …"), failed, cancelled or skipped and why, or how far it is.',
    }),
    reasons: z
      .object({
        skipped: z.record(z.string(), z.int()),
        failed: z.record(z.string(), z.int()),
      })
      .meta({
        description:
          'Skipped and failed users counted by reason (kept as long as per-user outcomes: RUN_RETENTION_DAYS).',
      }),
    rejected: z
      .array(
        z.object({
          userId: z.string(),
          reason: z.string(),
          platformMessage: z.string().optional().meta({
            description:
              "The platform's own message when it refused the user (emails redacted, at most 300 characters).",
          }),
        }),
      )
      .meta({ description: 'The first 100 failed users, in the order they failed.' }),
    ...dryRunAnswer,
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

export const cancelAnswerSchema = z
  .object({
    success: z.literal(true),
    runId: z.string(),
    status: z.literal('cancelling'),
    message: z.string(),
  })
  .meta({ id: 'CancelAnswer' });

const scheduleSchema = z
  .object({
    scheduleId: z.string(),
    paused: z.boolean(),
    note: z.string().optional(),
    spec: z.object({
      cron: z.array(z.string()),
      every: z.array(z.string()),
      timezone: z.string().optional(),
    }),
    nextRunTimes: z.array(z.string()),
    recentRuns: z.array(
      z.object({
        runId: z.string(),
        scheduledAt: z.string(),
        startedAt: z.string(),
        status: z
          .string()
          .optional()
          .meta({ description: 'Described schedules: the run status, with its counts.' }),
        added: z.int().optional(),
        failed: z.int().optional(),
        skipped: z.int().optional(),
        removed: z.int().optional(),
        unsubscribed: z.int().optional(),
        updated: z.int().optional(),
      }),
    ),
    sync: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Described schedules: the run request each action starts.' }),
  })
  .meta({ id: 'Schedule' });

export const scheduleAnswerSchema = z
  .object({ success: z.literal(true), schedule: scheduleSchema })
  .meta({ id: 'ScheduleAnswer' });

export const scheduleListSchema = z
  .object({ success: z.literal(true), schedules: z.array(scheduleSchema) })
  .meta({ id: 'ScheduleList' });

export const scheduleTriggeredSchema = z
  .object({
    success: z.literal(true),
    scheduleId: z.string(),
    runId: z.string().optional().meta({
      description:
        'The run the trigger started, or (started: false) the run of the schedule still running; absent only when the schedule did not show it in time.',
    }),
    started: z.boolean().optional(),
    statusUrl: z.string().optional().meta({ description: "The run's status URL" }),
    message: z.string(),
  })
  .meta({ id: 'ScheduleTriggered' });

export const scheduleDeletedSchema = z
  .object({ success: z.literal(true), scheduleId: z.string(), deleted: z.literal(true) })
  .meta({ id: 'ScheduleDeleted' });

/** Pause and unpause take an optional note (at most 500 characters are kept). */
export const scheduleNoteSchema = z
  .strictObject({
    note: storableString()
      .optional()
      .meta({ description: 'Why; longer notes are cut to 500 characters.' }),
  })
  .meta({ id: 'ScheduleNote' });

const checksSchema = z.object({
  database: z.enum(['ok', 'unreachable']),
  temporal: z.enum(['ok', 'unreachable']),
  usersSource: z.enum(['ok', 'invalid', 'unknown']).meta({
    description:
      'The relation USERS_SOURCE names has the columns a run reads (invalid: the error message names the missing ones; unknown: the database does not answer).',
  }),
});

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export const readySchema = z
  .object({ status: z.literal('ready'), checks: checksSchema })
  .meta({ id: 'Ready' });

export const notReadySchema = z
  .object({ status: z.literal('not_ready'), checks: checksSchema })
  .meta({ id: 'NotReady' });

const erasureProgressSchema = z
  .object({
    requested: z.int().meta({ description: 'Distinct users asked for' }),
    erased: z.int().meta({ description: 'Users whose data is gone (tombstone only)' }),
    notFound: z.int().meta({
      description:
        'Ids that name no user: not in the users relation (ids are read as its id type, so "0042" is user 42) nor in the service\'s tables',
    }),
    contactsDeleted: z.int().meta({ description: 'Contacts deleted on the platform' }),
    failed: z.int().meta({
      description: 'Erased users of whom the platform refused to delete a contact',
    }),
    pending: z.int().meta({ description: 'Users not erased yet' }),
  })
  .meta({ id: 'ErasureProgress' });

export const erasureStartedSchema = z
  .object({
    success: z.literal(true),
    erasureId: z.string(),
    status: z.literal('running'),
    progress: erasureProgressSchema,
    statusUrl: z.string(),
  })
  .meta({ id: 'ErasureStarted' });

export const erasureStatusSchema = z
  .object({
    success: z.literal(true),
    erasureId: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    trigger: z.enum(['api', 'reconciliation']),
    progress: erasureProgressSchema,
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'ErasureStatus' });

/** `POST /webhooks/<platform>`: whether this delivery id was new (a redelivery changes nothing). */
export const webhookAnswerSchema = z
  .object({ success: z.literal(true), processed: z.boolean() })
  .meta({ id: 'WebhookReceived' });

export const optOutsQuerySchema = z.strictObject({
  after: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,17})$/, 'must be a cursor from an earlier answer (`next`), or 0')
    .default('0')
    .meta({ description: 'The `next` of the previous page; 0 (the default) starts at the oldest' }),
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 1000' })
    .int('must be a whole number from 1 to 1000')
    .min(1, 'must be a whole number from 1 to 1000')
    .max(1000, 'must be a whole number from 1 to 1000')
    .default(100),
});

export const optOutsAnswerSchema = z
  .object({
    success: z.literal(true),
    data: z.array(
      z.object({
        userId: z.string(),
        origin: z.enum(['unsubscribed', 'deleted', 'suppressed', 'erased', 'lifted']),
        at: z.iso.datetime(),
      }),
    ),
    next: z.string().meta({
      description:
        'Pass as `after` to read what follows; the same cursor when nothing new has come yet',
    }),
  })
  .meta({ id: 'OptOuts' });

export const liftParamsSchema = z.object({
  userId: trimmedText(200, { blank: 'must not be blank', long: 'is too long' }).meta({
    description:
      'The user, as the app writes its id ("0042" is user 42 of an integer id; an upper-case UUID its own)',
  }),
});

/** `POST /api/marketing/opt-outs/:userId/lift`: how many platform records stopped counting. */
export const liftAnswerSchema = z
  .object({
    success: z.literal(true),
    userId: z.string().meta({ description: 'The user, as the users relation writes its id' }),
    lifted: z.int().meta({
      description:
        'Platform records lifted (unsubscribed, deleted, suppressed, on every platform account); 0: nothing to lift, and no feed entry',
    }),
  })
  .meta({ id: 'ConsentLifted' });
