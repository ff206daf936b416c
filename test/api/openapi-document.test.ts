import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleBodySchema } from '../../api/routes/schedules.js';
import { syncBodySchema } from '../../api/schemas.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';

/**
 * /openapi.json, served by the real API, says what the API does: the answers of every route and
 * the rules that validation applies across fields, checked here against the API's own answers.
 */

type JsonObject = Record<string, unknown>;

let stack: AppStack;
// biome-ignore lint/suspicious/noExplicitAny: the document is asserted field by field
let document: any;
let valid: (schema: string, body: unknown) => boolean;

const DOCUMENT_ID = 'https://audience-sync.invalid/openapi.json';

beforeAll(async () => {
  stack = await startAppStack({ users: 5 });
  document = await (await fetch(`${stack.api.url}/openapi.json`)).json();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  valid = (schema, body) => {
    const validate = ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${schema}`);
    if (!validate) throw new Error(`the document has no schema ${schema}`);
    return validate(body) as boolean;
  };
});

afterAll(async () => {
  await stack?.stop();
});

/** `METHOD path` of every operation whose path has a parameter, in document order. */
function operationsWithPathParameters(): string[] {
  return Object.entries(document.paths as Record<string, JsonObject>)
    .filter(([path]) => path.includes('{'))
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
}

describe('the answers of the routes with a path parameter', () => {
  const RUN = '/api/marketing/sync-users/{runId}';
  const SCHEDULE = '/api/marketing/schedules/{id}';
  const ERASURE = '/api/marketing/erasures/{erasureId}';
  const LIFT = '/api/marketing/opt-outs/{userId}/lift';

  it('are the twelve operations on a run, an erasure, a schedule or a user, each documenting its 400', () => {
    expect(operationsWithPathParameters()).toEqual([
      `GET ${RUN}`,
      `DELETE ${RUN}`,
      `POST ${RUN}/pause`,
      `POST ${RUN}/resume`,
      `GET ${ERASURE}`,
      `GET ${SCHEDULE}`,
      `DELETE ${SCHEDULE}`,
      `POST ${SCHEDULE}/trigger`,
      `POST ${SCHEDULE}/pause`,
      `POST ${SCHEDULE}/unpause`,
      `POST ${LIFT}`,
      `GET ${RUN}/users`,
    ]);
    for (const operation of operationsWithPathParameters()) {
      const [method = '', path = ''] = operation.split(' ');
      const answer = document.paths[path][method.toLowerCase()].responses['400'];
      expect({ operation, schema: answer?.content?.['application/json']?.schema }).toEqual({
        operation,
        schema: { $ref: '#/components/schemas/Error' },
      });
    }
  });

  it('answer that 400 to an id the path parameter refuses', async () => {
    const badIds: Record<string, string> = {
      '{runId}': 'not a run id',
      '{id}': '-not-an-id',
      '{erasureId}': 'not an erasure id',
      '{userId}': '   ',
    };
    for (const operation of operationsWithPathParameters()) {
      const [method = '', template = ''] = operation.split(' ');
      const path = template.replace(/\{(runId|id|erasureId|userId)\}/, (parameter) =>
        encodeURIComponent(badIds[parameter] ?? ''),
      );
      const answer = await stack.call(method, path);
      expect({ operation, status: answer.status, code: answer.body.error.code }).toEqual({
        operation,
        status: 400,
        code: 'invalid_request',
      });
    }
  });
});

describe('activeDays', () => {
  it('is an integer from 1 to 3650 in the preview query', () => {
    const parameters = document.paths['/api/marketing/sync-users'].get.parameters as JsonObject[];
    const activeDays = parameters.find((parameter) => parameter.name === 'activeDays');
    expect(activeDays).toMatchObject({
      in: 'query',
      schema: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
    });
  });

  it.each(['SyncUsersRequest', 'SyncRequest'])('is an integer from 1 to 3650 in %s', (name) => {
    expect(document.components.schemas[name].properties.activeDays).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 3650,
    });
  });

  it('is refused below 1 and above 3650 by the API, as the document says', async () => {
    for (const days of [0, 3651]) {
      expect(valid('SyncUsersRequest', { activeDays: days })).toBe(false);
      const query = await stack.call('GET', `/api/marketing/sync-users?activeDays=${days}`);
      expect(query.status).toBe(400);
      const body = await stack.call('POST', '/api/marketing/sync-users', { activeDays: days });
      expect(body.status).toBe(400);
    }
    expect(valid('SyncUsersRequest', { activeDays: 1 })).toBe(true);
  });
});

/**
 * Bodies the API refuses with 400 and the document's schema refuses too; the schema's own
 * rules, and zod's, are one definition (api/schemas.ts `withRules`).
 */
const SEGMENT = '3f2b6f9e-0000-4000-8000-000000000000';
const SCHEDULE_SYNC = { platform: 'resend', sync_type: 'new', list_id: SEGMENT };

describe('a schedule: exactly one of cron and every', () => {
  it('is stated in the document', () => {
    const schema = document.components.schemas.ScheduleRequest;
    expect(schema.allOf).toContainEqual({
      oneOf: [{ required: ['cron'] }, { required: ['every'] }],
    });
    expect(schema.description).toContain('Exactly one of `cron` and `every`.');
    expect(schema.properties.sync.$ref).toBe('#/components/schemas/SyncRequest');
  });

  it.each([
    ['both', { cron: '0 6 * * 1', every: '6h' }],
    ['neither', {}],
  ])('refuses %s, in the document and in the API', async (_case, timing) => {
    const body = { scheduleId: `doc-${_case}`, sync: SCHEDULE_SYNC, ...timing };
    expect(valid('ScheduleRequest', body)).toBe(false);
    const answer = await stack.call('POST', '/api/marketing/schedules', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([
      { field: 'cron', message: 'give either cron or every (exactly one)' },
    ]);
  });

  it.each([
    ['cron', { cron: '0 6 * * 1' }],
    ['every', { every: '6h' }],
  ])('accepts %s alone, in the document and in the schema that validates', (_case, timing) => {
    const body = { scheduleId: `doc-${_case}`, sync: SCHEDULE_SYNC, ...timing };
    expect(valid('ScheduleRequest', body)).toBe(true);
    expect(scheduleBodySchema.safeParse(body).success).toBe(true);
  });

  it('refuses a sync body that POST /sync refuses', () => {
    const body = {
      scheduleId: 'doc-sync',
      every: '6h',
      sync: { ...SCHEDULE_SYNC, list_name: 'x' },
    };
    expect(valid('ScheduleRequest', body)).toBe(false);
  });
});

describe('POST /sync: the rules across its fields', () => {
  it('are stated in the document', () => {
    const schema = document.components.schemas.SyncRequest;
    expect(schema.description).toBe(
      '`user_ids` is required and not empty when `sync_type` is `specific`, and absent otherwise. `list_id` and `list_name` exclude each other. `mode` `mirror` needs `sync_type` `all`. `max_removals` is only for `mode` `mirror`.',
    );
    expect(schema.allOf).toEqual([
      {
        if: { properties: { sync_type: { const: 'specific' } }, required: ['sync_type'] },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else
        then: { properties: { user_ids: { minItems: 1 } }, required: ['user_ids'] },
        else: { not: { required: ['user_ids'] } },
      },
      { not: { required: ['list_id', 'list_name'] } },
      {
        if: { properties: { mode: { const: 'mirror' } }, required: ['mode'] },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else
        then: { properties: { sync_type: { const: 'all' } } },
      },
      {
        if: { required: ['max_removals'] },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else
        then: { properties: { mode: { const: 'mirror' } }, required: ['mode'] },
      },
    ]);
    expect(schema.properties.platform.enum).toEqual(['resend', 'loops']);
  });

  it.each<[string, JsonObject, string]>([
    ['specific without user_ids', { sync_type: 'specific' }, 'user_ids'],
    ['specific with no user_ids', { sync_type: 'specific', user_ids: [] }, 'user_ids'],
    ['user_ids without sync_type', { user_ids: ['1'] }, 'user_ids'],
    ['user_ids with sync_type all', { sync_type: 'all', user_ids: ['1'] }, 'user_ids'],
    ['user_ids with sync_type new', { sync_type: 'new', user_ids: [1] }, 'user_ids'],
    ['list_id with list_name', { list_id: SEGMENT, list_name: 'News' }, 'list_name'],
    ['a list id that is a path', { list_id: '../contacts' }, 'list_id'],
    ['a blank list name', { list_name: ' \t ' }, 'list_name'],
    ['a NUL in a tag', { tags: ['v\u0000ip'] }, 'tags.0'],
    ['mirror with sync_type new', { mode: 'mirror', sync_type: 'new' }, 'mode'],
    ['max_removals without mirror', { max_removals: '20%' }, 'max_removals'],
    ['a share over 100%', { mode: 'mirror', max_removals: '101%' }, 'max_removals'],
  ])('refuses %s, in the document and in the API', async (_case, fields, field) => {
    const body = { platform: 'resend', ...fields };
    expect(valid('SyncRequest', body)).toBe(false);
    const answer = await stack.call('POST', '/api/marketing/sync', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.map((detail: { field: string }) => detail.field)).toEqual([
      field,
    ]);
  });

  it.each<[string, JsonObject]>([
    ['specific with user_ids', { sync_type: 'specific', user_ids: ['1', 2] }],
    ['all without user_ids', { sync_type: 'all' }],
    ['no sync_type', {}],
    ['a list id alone', { list_id: SEGMENT, sync_type: 'new' }],
    ['a list name alone', { list_name: ' News ' }],
  ])('accepts %s, in the document and in the schema that validates', (_case, fields) => {
    const body = { platform: 'resend', ...fields };
    expect(valid('SyncRequest', body)).toBe(true);
    expect(syncBodySchema.safeParse(body).success).toBe(true);
  });
});

describe('pausing a schedule: the optional note', () => {
  it.each<[string, unknown, string]>([
    ['a note that is not a string', { note: 5 }, 'note'],
    ['a field the document does not name', { reason: 'holiday' }, 'reason'],
  ])('refuses %s, in the document and in the API', async (_case, body, field) => {
    expect(valid('ScheduleNote', body)).toBe(false);
    for (const action of ['pause', 'unpause']) {
      const answer = await stack.call('POST', `/api/marketing/schedules/doc-note/${action}`, body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.details.map((detail: { field: string }) => detail.field)).toEqual([
        field,
      ]);
    }
  });

  it('accepts a string note or none at all, in the document', () => {
    expect(valid('ScheduleNote', { note: 'holiday' })).toBe(true);
    expect(valid('ScheduleNote', {})).toBe(true);
  });
});

describe('a run status answered from the record alone', () => {
  it('is one RunStatus allows: temporal "unavailable" when Temporal did not answer in time', () => {
    const fromRecord = {
      success: true,
      runId: 'sync-users-2030-01-01T00-00-00Z-00000000',
      status: 'running',
      audience: null,
      progress: {
        total: 3,
        processed: 0,
        added: 0,
        failed: 0,
        skipped: 0,
        removed: 0,
        unsubscribed: 0,
        updated: 0,
      },
      startedAt: '2030-01-01T00:00:00.000Z',
      message: 'Sync running: 0 of 3 users so far',
      temporal: 'unavailable',
      reasons: { skipped: {}, failed: {} },
      rejected: [],
    };
    expect(valid('RunStatus', fromRecord)).toBe(true);
    expect(valid('RunStatus', { ...fromRecord, temporal: 'down' })).toBe(false);
  });
});

describe('limits and the error codes they answer with', () => {
  it('are named in the document, on the operations that answer them', () => {
    const responses = (path: string, method: string) =>
      JSON.stringify(document.paths[path][method].responses);
    const expectations: [string, string, string[]][] = [
      ['/api/marketing/sync', 'post', ['too_many_runs', 'MAX_CONCURRENT_RUNS']],
      ['/api/marketing/sync', 'post', ['too_many_dry_runs', 'MAX_CONCURRENT_DRY_RUNS']],
      ['/api/marketing/sync', 'post', ['column_not_allowed', 'PROPERTY_COLUMNS']],
      ['/api/marketing/sync-users', 'post', ['too_many_runs', 'too_many_dry_runs']],
      ['/api/marketing/schedules', 'post', ['too_many_schedules', 'MAX_SCHEDULES']],
      ['/api/marketing/schedules', 'post', ['schedule_too_frequent', 'column_not_allowed']],
      ['/api/marketing/erasures', 'post', ['too_many_erasures', 'MAX_ACTIVE_ERASURES']],
      ['/api/marketing/sync-users', 'get', ['users_source_invalid']],
      ['/webhooks/resend', 'post', ['too_many_auth_failures']],
    ];
    for (const [path, method, named] of expectations) {
      for (const name of named) {
        expect({ path, method, name, named: responses(path, method).includes(name) }).toEqual({
          path,
          method,
          name,
          named: true,
        });
      }
    }
    expect(JSON.stringify(document.components.schemas.SyncRequest)).toContain('PROPERTY_COLUMNS');
  });
});
