import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRequest } from '../../common/sync.js';
import { deleteExpiredRunData } from '../../db/retention.js';
import { finishRun, insertRun, newRunRecord, setRunPaused } from '../../db/runs.js';
import { type AppStack, startAppStack, waitForRunEnd } from '../support/app-stack.js';
import { uniqueName, waitFor } from '../support/stack.js';

/**
 * GET /api/marketing/runs and GET /api/marketing/sync-users/:runId/users on the real stack. The
 * users relation has text ids, some of which a spreadsheet would take for formulas.
 */

let stack: AppStack;

const RELATION = 'people';
/** Ids as an application might write them; the odd ones test the CSV's formula guard. */
const PLAIN_IDS = Array.from({ length: 12 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
const FORMULA_ID = '=HYPERLINK("http://evil.example/x","open")';
const PLUS_ID = '+1+2';
const NEGATIVE_ID = '-7';
const OPTED_OUT_IDS = ['o1', '@SUM(1)'];
const DELETED_ID = 'd1';
const INVALID_ID = 'bad1';
/** Shares p01's email (other case): skipped as a duplicate. */
const TWIN_ID = 'twin1';
/** Users the tests erase: never in the runs the tests compare. */
const ERASED_IDS = ['e1', 'e2'];

beforeAll(async () => {
  stack = await startAppStack({
    worker: { USERS_SOURCE: RELATION },
    api: { USERS_SOURCE: RELATION },
  });
  await stack.db.sql`
    create table people (
      id text primary key, email text, first_name text, last_name text, full_name text,
      created_at timestamptz not null default now(), last_active_at timestamptz default now(),
      marketing_opt_out boolean not null default false, deleted_at timestamptz)`;
  const person = (id: string, index: number) => ({
    id,
    email: `person.${index}@example.com`,
    first_name: 'Pat',
    last_name: `Number${index}`,
    full_name: `Pat Number${index}`,
  });
  const rows = [...PLAIN_IDS, FORMULA_ID, PLUS_ID, NEGATIVE_ID, ...ERASED_IDS].map(person);
  await stack.db.sql`insert into people ${stack.db.sql(rows)}`;
  await stack.db.sql`
    insert into people (id, email, first_name, last_name, full_name, marketing_opt_out, deleted_at)
    values (${OPTED_OUT_IDS[0] ?? ''}, 'opted.1@example.com', 'O', 'Ut', 'O Ut', true, null),
      (${OPTED_OUT_IDS[1] ?? ''}, 'opted.2@example.com', 'O', 'Ut', 'O Ut', true, null),
      (${DELETED_ID}, 'gone.1@example.com', 'G', 'One', 'G One', false, now()),
      (${INVALID_ID}, 'not-an-email', 'B', 'Ad', 'B Ad', false, null),
      (${TWIN_ID}, 'PERSON.0@EXAMPLE.COM', 'T', 'Win', 'T Win', false, null)`;
});

afterAll(async () => {
  await stack?.stop();
});

const ALL_IDS = [
  ...PLAIN_IDS,
  FORMULA_ID,
  PLUS_ID,
  NEGATIVE_ID,
  ...OPTED_OUT_IDS,
  DELETED_ID,
  INVALID_ID,
  TWIN_ID,
];

/** What a `specific` run of ALL_IDS makes of each user (before any rename). */
function expectedOutcome(id: string): { outcome: string; reason: string | null } {
  if (OPTED_OUT_IDS.includes(id)) return { outcome: 'skipped', reason: 'opted_out' };
  if (id === DELETED_ID) return { outcome: 'skipped', reason: 'deleted' };
  if (id === INVALID_ID) return { outcome: 'failed', reason: 'invalid_email' };
  if (id === TWIN_ID) return { outcome: 'skipped', reason: 'duplicate_email' };
  return { outcome: 'added', reason: null };
}

/** Ids in the order the database sorts text (the users route's order). */
async function inDatabaseOrder(ids: string[]): Promise<string[]> {
  const rows = await stack.db.sql<{ id: string }[]>`
    select id from unnest(${ids}::text[]) as t(id) order by id`;
  return rows.map((row) => row.id);
}

async function syncSpecific(body: Record<string, unknown>) {
  const answer = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    sync_type: 'specific',
    user_ids: ALL_IDS,
    ...body,
  });
  expect(answer.status).toBe(200);
  return answer.body as { runId: string; list_id: string };
}

const runsPage = async (query: string) => {
  const answer = await stack.call('GET', `/api/marketing/runs${query}`);
  expect(answer.status).toBe(200);
  return answer.body as { runs: { runId: string; [key: string]: unknown }[]; next: string | null };
};
const idsOf = (page: { runs: { runId: string }[] }) => page.runs.map((run) => run.runId);

/** Records made as the API and the first activity make them, for list shapes no run could give. */
async function recordRun(
  listId: string,
  status: 'running' | 'paused' | 'completed' | 'failed' | 'cancelled',
  startedAt?: string,
): Promise<string> {
  const runId = uniqueName('sync-made');
  const request: SyncRequest = {
    platform: 'resend',
    listId,
    listName: listId,
    syncType: 'all',
    tags: [],
    filterActive: false,
    activeDays: 30,
    trigger: 'api',
  };
  await insertRun(stack.db.sql, newRunRecord(runId, request, new Date()), []);
  if (status === 'paused') await setRunPaused(stack.db.sql, runId, true);
  if (status !== 'running' && status !== 'paused') await finishRun(stack.db.sql, runId, status);
  // The list last: a list holds one running run at most.
  await stack.db.sql`
    update audience_sync.runs set list_id = ${listId},
      started_at = coalesce(${startedAt ?? null}::timestamptz, started_at)
    where run_id = ${runId}`;
  return runId;
}

describe('GET /api/marketing/runs', () => {
  it('lists every sync run newest first, whoever started it, and never an erasure', async () => {
    const api = await stack.call('POST', '/api/marketing/sync-users', {
      audienceName: 'Runs list',
    });
    expect(api.status).toBe(200);
    const dry = await syncSpecific({ list_id: api.body.audience.id, dry_run: true });
    const scheduleId = uniqueName('runs-list').replaceAll('_', '-');
    const created = await stack.call('POST', '/api/marketing/schedules', {
      scheduleId,
      every: '12h',
      paused: true,
      sync: { platform: 'resend', list_id: api.body.audience.id, sync_type: 'new' },
    });
    expect(created.status).toBe(201);
    expect(
      (await stack.call('POST', `/api/marketing/schedules/${scheduleId}/trigger`)).status,
    ).toBe(202);
    const scheduledRunId = await waitFor(
      async () =>
        (await stack.call('GET', `/api/marketing/schedules/${scheduleId}`)).body.schedule
          .recentRuns[0]?.runId as string | undefined,
      { what: 'the triggered run' },
    );
    await waitForRunEnd(stack, scheduledRunId);
    const erasure = await stack.call('POST', '/api/marketing/erasures', {
      user_ids: [ERASED_IDS[0]],
    });
    expect(erasure.status).toBe(202);
    await stack.call('DELETE', `/api/marketing/schedules/${scheduleId}`);

    const page = await runsPage('?limit=200');
    // Exactly the sync runs the database holds, newest first: the erasure is not among them.
    const recorded = await stack.db.sql<{ runId: string }[]>`
      select run_id as "runId" from audience_sync.runs order by started_at desc, run_id desc`;
    expect(idsOf(page)).toEqual(recorded.map((row) => row.runId));
    expect(idsOf(page)).not.toContain(erasure.body.erasureId);
    const mine = idsOf(page).filter((id) =>
      [api.body.runId, dry.runId, scheduledRunId].includes(id),
    );
    expect(mine).toEqual([scheduledRunId, dry.runId, api.body.runId]);
    expect(page.next).toBeNull();

    // Each run shows what its status shows, but the rejected users.
    const byId = new Map(page.runs.map((run) => [run.runId, run]));
    for (const runId of [api.body.runId, dry.runId, scheduledRunId]) {
      const status = await stack.call(
        'GET',
        `/api/marketing/sync-users/${encodeURIComponent(runId)}`,
      );
      const { success: _s, rejected: _r, plan: _p, ...shown } = status.body;
      expect(byId.get(runId)).toMatchObject(shown);
    }
    expect(byId.get(api.body.runId)).toMatchObject({
      trigger: 'api',
      scheduleId: null,
      dryRun: false,
      syncType: 'all',
      platform: 'resend',
    });
    expect(byId.get(scheduledRunId)).toMatchObject({ trigger: 'schedule', scheduleId });
    expect(byId.get(dry.runId)).toMatchObject({
      dryRun: true,
      syncType: 'specific',
      reasons: {
        skipped: { opted_out: 2, deleted: 1, duplicate_email: 1 },
        failed: { invalid_email: 1 },
      },
    });
  });

  it('filters by status, list and platform', async () => {
    // One running run per list at most (paused runs are running): two lists.
    const [first, second] = [uniqueName('list-a'), uniqueName('list-b')];
    const made = {
      running: await recordRun(first, 'running'),
      failed: await recordRun(first, 'failed'),
      completed: await recordRun(first, 'completed'),
      cancelled: await recordRun(first, 'cancelled'),
      paused: await recordRun(second, 'paused'),
      other: await recordRun(second, 'completed'),
    };
    expect(idsOf(await runsPage(`?list_id=${first}`))).toEqual([
      made.cancelled,
      made.completed,
      made.failed,
      made.running,
    ]);
    expect(idsOf(await runsPage(`?list_id=${second}&platform=resend`))).toEqual([
      made.other,
      made.paused,
    ]);
    for (const status of ['running', 'failed', 'completed', 'cancelled'] as const) {
      const page = await runsPage(`?list_id=${first}&status=${status}&platform=resend`);
      expect(idsOf(page)).toEqual([made[status]]);
      expect(page.runs[0]).toMatchObject({ status, audience: { id: first } });
    }
    expect(idsOf(await runsPage(`?list_id=${second}&status=paused`))).toEqual([made.paused]);
    expect(idsOf(await runsPage(`?list_id=${second}&status=running`))).toEqual([]);
    expect(idsOf(await runsPage(`?list_id=${second}&status=completed`))).toEqual([made.other]);
    expect(idsOf(await runsPage(`?list_id=${second}&status=failed`))).toEqual([]);
  });

  it('pages by a cursor that runs started between pages neither repeat in nor vanish from', async () => {
    const listId = uniqueName('list-pages');
    // Two runs started in the same microsecond, two in the same millisecond: the cursor keeps
    // the microseconds and breaks ties by run id.
    const times = [
      '2030-01-01T10:00:00.000001Z',
      '2030-01-01T10:00:00.000002Z',
      '2030-01-01T10:00:00.000002Z',
      '2030-01-01T10:00:00.000003Z',
      '2030-01-01T10:00:01Z',
      '2030-01-01T10:00:02Z',
      '2030-01-01T10:00:03Z',
    ];
    const older: string[] = [];
    for (const time of times) older.push(await recordRun(listId, 'completed', time));
    const expected = (
      await stack.db.sql<{ runId: string }[]>`
        select run_id as "runId" from audience_sync.runs where list_id = ${listId}
        order by started_at desc, run_id desc`
    ).map((row) => row.runId);
    expect(new Set(expected)).toEqual(new Set(older));

    const first = await runsPage(`?list_id=${listId}&limit=3`);
    // Runs start while the client reads the first page.
    const newer = [
      await recordRun(listId, 'completed', '2030-01-01T10:00:04Z'),
      await recordRun(listId, 'running', '2030-01-01T10:00:05Z'),
    ];
    const second = await runsPage(`?list_id=${listId}&limit=3&cursor=${first.next}`);
    const third = await runsPage(`?list_id=${listId}&limit=3&cursor=${second.next}`);
    expect([...idsOf(first), ...idsOf(second), ...idsOf(third)]).toEqual(expected);
    expect(idsOf(first)).toHaveLength(3);
    expect(idsOf(second)).toHaveLength(3);
    expect(third.next).toBeNull();
    // A new first page starts with them.
    expect(idsOf(await runsPage(`?list_id=${listId}&limit=3`))).toEqual([
      newer[1],
      newer[0],
      expected[0],
    ]);
  });

  it('shows a run Temporal never ran as ended once its record is a minute old', async () => {
    const listId = uniqueName('list-stale');
    const runId = await recordRun(
      listId,
      'running',
      new Date(Date.now() - 5 * 60_000).toISOString(),
    );
    const page = await runsPage(`?list_id=${listId}`);
    expect(page.runs).toEqual([
      expect.objectContaining({
        runId,
        status: 'failed',
        error: { code: 'RunEndedOutside', message: expect.any(String) },
      }),
    ]);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=1e1', 'limit'],
    ['status=done', 'status'],
    ['platform=mailchimp', 'platform'],
    ['list_id=a/b', 'list_id'],
    ['cursor=%25%25', 'cursor'],
    ['cursor=bm90LWpzb24', 'cursor'],
    [`cursor=${Buffer.from('["2030-01-01","x"]').toString('base64url')}`, 'cursor'],
    ['colour=red', 'colour'],
  ])('answers 400 naming the field for %s', async (query, field) => {
    const answer = await stack.call('GET', `/api/marketing/runs?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(answer.body.error.details).toEqual([{ field, message: expect.any(String) }]);
  });
});

type UserRow = { userId: string; outcome: string; reason: string | null };

const usersPath = (runId: string, query = '') =>
  `/api/marketing/sync-users/${encodeURIComponent(runId)}/users${query}`;

/** Every page of a run's users, following `next`. */
async function allPages(runId: string, query: string): Promise<UserRow[][]> {
  const pages: UserRow[][] = [];
  let cursor: string | null = null;
  do {
    const answer = await stack.call(
      'GET',
      usersPath(runId, `?${query}${cursor ? `&cursor=${cursor}` : ''}`),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.runId).toBe(runId);
    pages.push(answer.body.users);
    cursor = answer.body.next;
  } while (cursor);
  return pages;
}

async function csvOf(runId: string, query = '') {
  const response = await fetch(`${stack.api.url}${usersPath(runId, query)}`, {
    headers: {
      authorization: `Bearer ${stack.apiConfig.MARKETING_API_SECRET}`,
      accept: 'text/csv',
    },
  });
  return { response, text: await response.text() };
}

describe('GET /api/marketing/sync-users/:runId/users', () => {
  let firstRun: string;
  let secondRun: string;
  const renamed = ['p03', PLUS_ID];

  beforeAll(async () => {
    const first = await syncSpecific({ list_name: uniqueName('users') });
    firstRun = first.runId;
    await stack.db.sql`update people set first_name = 'Renamed' where id = any(${renamed})`;
    secondRun = (await syncSpecific({ list_id: first.list_id })).runId;
  });

  it("pages a run's users by user id, with their outcome and reason", async () => {
    const pages = await allPages(firstRun, 'limit=4');
    expect(pages.map((page) => page.length)).toEqual([4, 4, 4, 4, 4]);
    const expected = (await inDatabaseOrder(ALL_IDS)).map((userId) => ({
      userId,
      ...expectedOutcome(userId),
    }));
    expect(pages.flat()).toEqual(expected);
  });

  it('filters by outcome and by reason', async () => {
    const only = async (query: string) => (await allPages(secondRun, `limit=2&${query}`)).flat();
    expect(await only('outcome=updated')).toEqual(
      (await inDatabaseOrder(renamed)).map((userId) => ({
        userId,
        outcome: 'updated',
        reason: null,
      })),
    );
    const added = ALL_IDS.filter(
      (id) => expectedOutcome(id).outcome === 'added' && !renamed.includes(id),
    );
    expect((await only('outcome=added')).map((row) => row.userId)).toEqual(
      await inDatabaseOrder(added),
    );
    expect(await only('outcome=skipped&reason=opted_out')).toEqual(
      (await inDatabaseOrder(OPTED_OUT_IDS)).map((userId) => ({
        userId,
        outcome: 'skipped',
        reason: 'opted_out',
      })),
    );
    expect(await only('reason=invalid_email')).toEqual([
      { userId: INVALID_ID, outcome: 'failed', reason: 'invalid_email' },
    ]);
    expect(await only('outcome=failed&reason=opted_out')).toEqual([]);
  });

  it('downloads every matching user as a CSV, not one page, with no email in it', async () => {
    const { response, text } = await csvOf(firstRun, '?limit=1');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename=${firstRun}-users.csv`,
    );
    const cell = (value: string) => {
      const guarded = /^[=+@]/.test(value) ? `'${value}` : value;
      return /[",]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
    };
    const lines = (await inDatabaseOrder(ALL_IDS)).map((userId) => {
      const { outcome, reason } = expectedOutcome(userId);
      return `${cell(userId)},${outcome},${reason ?? ''}`;
    });
    expect(text).toBe(`user_id,outcome,reason\r\n${lines.join('\r\n')}\r\n`);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/x"",""open"")",added,`);
    expect(text).toContain("\r\n'+1+2,added,");
    expect(text).toContain('\r\n-7,added,');
    expect(text).not.toMatch(/example\.com|not-an-email/i);

    const skipped = await csvOf(firstRun, '?outcome=skipped');
    expect(skipped.text.split('\r\n').slice(1, -1)).toEqual(
      (await inDatabaseOrder(ALL_IDS))
        .filter((id) => expectedOutcome(id).outcome === 'skipped')
        .map((id) => `${cell(id)},skipped,${expectedOutcome(id).reason}`),
    );
  });

  it('streams a CSV longer than one read of the database cursor', async () => {
    const runId = await recordRun(uniqueName('list-long'), 'completed');
    await stack.db.sql`
      insert into audience_sync.run_users (run_id, user_id, outcome, reason)
      select ${runId}, 'u' || lpad(g::text, 5, '0'),
        case when g % 3 = 0 then 'skipped' else 'added' end,
        case when g % 3 = 0 then 'opted_out' end
      from generate_series(1, 1234) g`;
    const { text } = await csvOf(runId);
    const lines = text.split('\r\n').slice(1, -1);
    expect(lines).toHaveLength(1234);
    expect(lines[0]).toBe('u00001,added,');
    expect(lines[2]).toBe('u00003,skipped,opted_out');
    expect(lines.at(-1)).toBe('u01234,added,');
    expect(new Set(lines).size).toBe(1234);
  });

  it('answers 410 outcomes_expired once retention deleted the users, and keeps the status', async () => {
    const { runId } = await syncSpecific({ list_name: uniqueName('expiring') });
    expect((await stack.call('GET', usersPath(runId))).status).toBe(200);
    await stack.db.sql`
      update audience_sync.runs set finished_at = now() - interval '31 days' where run_id = ${runId}`;
    await deleteExpiredRunData(stack.db.sql, 30);
    const answer = await stack.call('GET', usersPath(runId));
    expect(answer.status).toBe(410);
    expect(answer.body.error.code).toBe('outcomes_expired');
    expect((await csvOf(runId)).response.status).toBe(410);
    const status = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
    expect(status.status).toBe(200);
    expect(status.body.progress.processed).toBe(ALL_IDS.length);
  });

  it('answers 404 run_not_found for an erasure id and an unknown id', async () => {
    const erasure = await stack.call('POST', '/api/marketing/erasures', {
      user_ids: [ERASED_IDS[1]],
    });
    expect(erasure.status).toBe(202);
    for (const id of [erasure.body.erasureId, 'sync-users-2030-01-01T00-00-00Z-00000000']) {
      const answer = await stack.call('GET', usersPath(id));
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('run_not_found');
      expect((await csvOf(id)).response.status).toBe(404);
    }
  });

  it.each([
    ['outcome=removed', 'outcome'],
    ['reason=a%20b', 'reason'],
    ['limit=1001', 'limit'],
    [`cursor=${Buffer.from('[1]').toString('base64url')}`, 'cursor'],
  ])('answers 400 naming the field for %s', async (query, field) => {
    const answer = await stack.call('GET', usersPath(firstRun, `?${query}`));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ field, message: expect.any(String) }]);
  });
});
