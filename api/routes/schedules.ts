import { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import {
  ScheduleExistsError,
  ScheduleNotFoundError,
  type ScheduleService,
  ScheduleTooFrequentError,
  TooManySchedulesError,
} from '../../client/schedules.js';
import { outcomeCountsOf } from '../../common/sync.js';
import { runOutcomes } from '../../db/runs.js';
import { withScheduleCreationLock } from '../../db/schedules.js';
import type { Sql } from '../../db/sql.js';
import { databaseCall, serviceUnavailable, statusUrl } from '../answers.js';
import { ApiError } from '../errors.js';
import {
  exactlyOneOf,
  scheduleNoteSchema,
  storableString,
  trimmedText,
  withRules,
} from '../schemas.js';
import { parseInput } from '../validation.js';
import { type PropertyColumns, requireKnownColumns, syncRequestFromBody } from './sync.js';

export const scheduleBodySchema = withRules(
  z.strictObject({
    scheduleId: z
      .string({ error: 'is required' })
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
        'must be 1 to 100 letters, digits, dots, dashes or underscores',
      ),
    cron: trimmedText(200, {
      blank: 'must not be empty',
      long: 'must be at most 200 characters',
    })
      .optional()
      .meta({
        description:
          'A cron expression, e.g. "0 6 * * 1" (Mondays 06:00); runs at most every 5 minutes (else 400 schedule_too_frequent).',
      }),
    every: z
      .string()
      .regex(/^\d{1,5}(s|m|h|d)$/, 'must be a number and a unit, like 30m, 6h or 1d')
      .optional()
      .meta({
        description: 'An interval, like 6h; at least 5 minutes (else 400 schedule_too_frequent).',
      }),
    timezone: storableString()
      .refine(isTimeZone, 'must be an IANA time zone, like Europe/Paris')
      .optional()
      .meta({ description: 'An IANA time zone for cron, like Europe/Paris (default UTC).' }),
    paused: z.boolean({ error: 'must be true or false' }).default(false),
    note: storableString().max(500, 'must be at most 500 characters').optional(),
    // Checked by the rules of POST /sync (its 400s name the fields inside it), so the document
    // points at that schema.
    sync: z.unknown().meta({
      description: 'The body of POST /api/marketing/sync.',
      override: { $ref: '#/components/schemas/SyncRequest' },
    }),
  }),
  'ScheduleRequest',
  [
    exactlyOneOf('cron', 'every', 'give either cron or every (exactly one)'),
    {
      description: '`sync` is required.',
      jsonSchema: { required: ['sync'] },
      check: (body) =>
        body.sync === undefined
          ? { path: 'sync', message: 'is required: the body of POST /sync' }
          : undefined,
    },
  ],
);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const scheduleIdParams = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'is not a schedule id')
    .meta({ description: 'The schedule id given at creation.' }),
});

/** The SDK checks specs itself (TypeError); the server answers INVALID_ARGUMENT (gRPC code 3). */
const isRefusedSpec = (error: unknown): error is Error =>
  error instanceof TypeError || (error instanceof Error && 'code' in error && error.code === 3);

/** Maps what Temporal says about schedules to SPEC's answers. */
async function scheduleCall<T>(id: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) {
      throw new ApiError(404, 'schedule_not_found', `There is no schedule ${id}`);
    }
    if (error instanceof ScheduleExistsError)
      throw new ApiError(409, 'schedule_exists', error.message);
    if (error instanceof TooManySchedulesError) {
      throw new ApiError(409, 'too_many_schedules', error.message, [
        { count: error.count, limit: error.limit },
      ]);
    }

    if (isRefusedSpec(error)) {
      throw new ApiError(400, 'invalid_schedule', `The schedule was refused: ${error.message}`);
    }
    // Temporal (or the database) not answering is a 503 with Retry-After, not a 500.
    throw serviceUnavailable(error) ?? error;
  }
}

interface SchedulesRouteDeps {
  schedules: ScheduleService;
  sql: Sql;
  propertyColumns: PropertyColumns;
  /** MAX_SCHEDULES */
  maxSchedules: number;
  /** The platforms this deployment has credentials for. */
  configuredPlatforms: ReadonlySet<string>;
}

/** POST /: a schedule of a valid sync, within MAX_SCHEDULES, at most every 5 minutes. */
const createSchedule =
  (deps: SchedulesRouteDeps): RequestHandler =>
  async (req, res) => {
    const body = parseInput(scheduleBodySchema, req.body ?? {}, 'body');
    const request = syncRequestFromBody(
      body.sync,
      'schedule',
      new Date(),
      deps.configuredPlatforms,
    );
    const { checkUsersSource } = deps.propertyColumns;
    if (checkUsersSource) await databaseCall(checkUsersSource);
    await requireKnownColumns(request, deps.propertyColumns);
    // One create at a time across API processes, so two cannot both take the last place.
    const create = () =>
      deps.schedules.createWithin(deps.maxSchedules, {
        scheduleId: body.scheduleId,
        ...(body.cron ? { cron: body.cron } : {}),
        ...(body.every ? { every: body.every } : {}),
        ...(body.timezone ? { timezone: body.timezone } : {}),
        paused: body.paused,
        ...(body.note ? { note: body.note } : {}),
        request,
      });
    const schedule = await scheduleCall(body.scheduleId, () =>
      withScheduleCreationLock(deps.sql, create).catch((error: unknown) => {
        if (!(error instanceof ScheduleTooFrequentError)) throw error;
        const field = body.cron ? 'cron' : 'every';
        throw new ApiError(400, 'schedule_too_frequent', error.message, [
          { field, message: 'must not run more often than every 5 minutes' },
        ]);
      }),
    );
    res.status(201).json({ success: true, schedule });
  };

/** GET /:id: the schedule with its recent runs' outcomes. */
const describeSchedule =
  (deps: SchedulesRouteDeps): RequestHandler =>
  async (req, res) => {
    const { id } = parseInput(scheduleIdParams, req.params, 'query');
    const schedule = await scheduleCall(id, () => deps.schedules.describe(id));
    const runIds = schedule.recentRuns.map((run) => run.runId);
    const outcomes = await runOutcomes(deps.sql, runIds);
    const byId = new Map(outcomes.map((outcome) => [outcome.runId, outcome]));
    res.json({
      success: true,
      schedule: {
        ...schedule,
        recentRuns: schedule.recentRuns.map((run) => {
          const outcome = byId.get(run.runId);
          return {
            ...run,
            status: outcome?.status ?? 'running',
            ...(outcome ? outcomeCountsOf(outcome) : {}),
          };
        }),
      },
    });
  };

/** POST /:id/trigger: the run it started (or the one still running), to follow. */
const triggerSchedule =
  (deps: SchedulesRouteDeps): RequestHandler =>
  async (req, res) => {
    const { id } = parseInput(scheduleIdParams, req.params, 'query');
    const triggered = await scheduleCall(id, () => deps.schedules.trigger(id));
    res.status(202).json({
      success: true,
      scheduleId: id,
      ...(triggered
        ? {
            runId: triggered.runId,
            started: triggered.started,
            statusUrl: statusUrl(triggered.runId),
            message: triggered.started
              ? 'A run started now; follow it at statusUrl'
              : 'A run of this schedule is still running, so none was started; follow it at statusUrl',
          }
        : { message: 'A run starts now; the schedule lists it under recentRuns' }),
    });
  };

/** SPEC's /api/marketing/schedules, backed by Temporal Schedules. */
export function schedulesRouter(deps: SchedulesRouteDeps): Router {
  const router = Router();
  const { schedules } = deps;

  router.post('/', createSchedule(deps));

  router.get('/', async (_req, res) => {
    res.json({ success: true, schedules: await scheduleCall('', () => schedules.list()) });
  });

  router.get('/:id', describeSchedule(deps));

  router.post('/:id/trigger', triggerSchedule(deps));

  for (const action of ['pause', 'unpause'] as const) {
    router.post(`/:id/${action}`, async (req, res) => {
      const { id } = parseInput(scheduleIdParams, req.params, 'query');
      // An optional body with an optional note; longer notes are cut.
      const note = parseInput(scheduleNoteSchema, req.body ?? {}, 'body').note?.slice(0, 500);
      await scheduleCall(id, () => schedules[action](id, note));
      res.json({ success: true, schedule: await scheduleCall(id, () => schedules.describe(id)) });
    });
  }

  router.delete('/:id', async (req, res) => {
    const { id } = parseInput(scheduleIdParams, req.params, 'query');
    await scheduleCall(id, () => schedules.remove(id));
    res.json({ success: true, scheduleId: id, deleted: true });
  });

  return router;
}
