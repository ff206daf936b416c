import type { ScheduleDescription } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconciliationScheduleId } from '../../client/reconciliation-schedule.js';
import { emailHash } from '../../common/emails.js';
import { seedDemoUsers } from '../../db/demo-users.js';
import { spawnWorkerProcess, type WorkerProcess } from '../../dev/worker-process.js';
import type { DailyReconciliationResult } from '../../workflows/daily-reconciliation.js';
import {
  type AppStack,
  emulatedContacts,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { exportRunHistories, historyText } from '../support/histories.js';
import { schemaColumnsHolding } from '../support/schema-search.js';
import { waitFor } from '../support/stack.js';

let stack: AppStack;
const workers: WorkerProcess[] = [];
let scheduleId: string;

beforeAll(async () => {
  stack = await startAppStack({
    emulator: { rateLimit: 200 },
    inProcessWorker: false,
    worker: { ERASE_DELETED_USERS: 'true', RUN_RETENTION_DAYS: '30' },
  });
  scheduleId = reconciliationScheduleId(stack.workerConfig.TEMPORAL_TASK_QUEUE);
  workers.push(spawnWorkerProcess(stack.workerConfig));
});

afterAll(async () => {
  for (const worker of workers) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGTERM');
    }
    await worker.exited;
  }
  await stack?.client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await stack?.stop();
});

const describeSchedule = () =>
  waitFor(
    () =>
      stack.client.schedule
        .getHandle(scheduleId)
        .describe()
        .catch(() => undefined),
    { timeoutMs: 60_000, what: 'the daily reconciliation schedule' },
  );

/** Triggers the schedule and waits for the run it starts; answers its result and workflow id. */
async function runDailyReconciliation(): Promise<{
  workflowId: string;
  result: DailyReconciliationResult;
}> {
  const handle = stack.client.schedule.getHandle(scheduleId);
  const before = (await handle.describe()).info.recentActions.length;
  await handle.trigger();
  const described: ScheduleDescription = await waitFor(
    async () => {
      const description = await handle.describe();
      return description.info.recentActions.length > before && description;
    },
    { timeoutMs: 60_000, what: 'the triggered reconciliation to start' },
  );
  const workflowId = described.info.recentActions.at(-1)?.action.workflow.workflowId ?? '';
  const result = await stack.client.workflow
    .getHandle(workflowId)
    .result()
    .then((value) => value as DailyReconciliationResult);
  return { workflowId, result };
}

interface UserRow {
  id: string;
  email: string;
  last_name: string;
  full_name: string;
}

async function syncSpecific(firstId: number, count: number, name: string) {
  await seedDemoUsers(stack.db.sql, { count, firstId, mix: 'eligible' });
  const started = await stack.call(
    'POST',
    '/api/marketing/sync',
    {
      platform: 'resend',
      list_name: name,
      sync_type: 'specific',
      user_ids: Array.from({ length: count }, (_, index) => String(firstId + index)),
    },
    { prefer: 'respond-async', 'idempotency-key': `key-${name.replaceAll(' ', '-')}` },
  );
  expect(started.status).toBe(202);
  const finished = await waitForRunEnd(stack, started.body.runId);
  expect(finished).toMatchObject({ status: 'completed', progress: { added: count } });
  const users = await stack.db.sql<UserRow[]>`
    select id::text as id, lower(email) as email, last_name, full_name from users
    where id between ${firstId} and ${firstId + count - 1} order by id`;
  return { runId: started.body.runId as string, listId: finished.audience.id as string, users };
}

/** Rows of a run in every table of the schema with a run_id except runs (found in the catalog). */
const perRunRows = async (runId: string): Promise<Record<string, number>> => {
  const tables = await stack.db.sql<{ table: string }[]>`
    select c.relname as table from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'run_id'
    where n.nspname = 'audience_sync' and c.relkind = 'r' and c.relname <> 'runs'
    order by 1`;
  const counts: Record<string, number> = {};
  for (const { table } of tables) {
    const [row] = await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from ${stack.db.sql(`audience_sync.${table}`)}
      where run_id = ${runId}`;
    counts[table] = row?.count ?? 0;
  }
  return counts;
};

describe('the daily reconciliation schedule', () => {
  it('is created by the worker at start, and a second worker keeps the one schedule', async () => {
    const first = await describeSchedule();
    expect(first.spec.calendars?.length ?? 0).toBeGreaterThan(0);
    expect(first.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'DailyReconciliationWorkflow',
      taskQueue: stack.workerConfig.TEMPORAL_TASK_QUEUE,
    });
    expect(first.policies.overlap).toBe('SKIP');
    const second = spawnWorkerProcess({ ...stack.workerConfig, LOG_LEVEL: 'info' });
    workers.push(second);
    const kept = await waitFor(
      () =>
        second
          .output()
          .split('\n')
          .find((line) => line.includes('daily reconciliation schedule kept')),
      { timeoutMs: 60_000, what: 'the second worker to keep the schedule' },
    );
    expect(JSON.parse(kept)).toMatchObject({ scheduleId, outcome: 'updated' });
    await waitFor(
      async () => {
        const listed: string[] = [];
        for await (const schedule of stack.client.schedule.list()) {
          if (schedule.scheduleId === scheduleId) listed.push(schedule.scheduleId);
        }
        return listed.length === 1;
      },
      { what: 'exactly one reconciliation schedule' },
    );
    expect((await describeSchedule()).action).toMatchObject(first.action);
  });
});

describe('retention', () => {
  it('deletes per-user rows older than RUN_RETENTION_DAYS, keeps newer ones and every run summary', async () => {
    const old = await syncSpecific(8_200_000_001, 5, 'Retention old');
    const recent = await syncSpecific(8_200_000_101, 5, 'Retention recent');
    await stack.db.sql`
      update audience_sync.runs set started_at = now() - interval '32 days',
        finished_at = now() - interval '31 days'
      where run_id = ${old.runId}`;
    await stack.db.sql`
      update audience_sync.idempotency_keys set created_at = now() - interval '31 days'
      where run_id = ${old.runId}`;
    // A run still running keeps what it needs, however old.
    await stack.db.sql`
      insert into audience_sync.runs (run_id, platform, sync_type, trigger, filter_active,
        active_days, active_since, started_at)
      values ('retention-still-running', 'resend', 'all', 'api', false, 30, now(),
        now() - interval '40 days')`;
    await stack.db.sql`
      insert into audience_sync.run_users (run_id, user_id, outcome, recorded_at)
      values ('retention-still-running', '8200000001', 'added', now() - interval '40 days')`;
    await stack.db.sql`
      insert into audience_sync.idempotency_keys (key, request_hash, run_id, created_at)
      values ('key-still-running', 'h', 'retention-still-running', now() - interval '40 days')`;
    await stack.db.sql`
      insert into audience_sync.webhook_deliveries (platform, svix_id, received_at)
      values ('resend', 'msg_old', now() - interval '31 days'),
        ('resend', 'msg_recent', now() - interval '29 days')`;
    const ledgerBefore = await stack.db.sql`
      select list_id, user_id from audience_sync.list_members order by 1, 2`;

    const oldRows = await perRunRows(old.runId);
    const recentRows = await perRunRows(recent.runId);
    // What a run leaves per user, at least (the bulk tables hold rows only when bulk was used).
    expect(oldRows).toMatchObject({ run_users: 5, run_emails: 5, run_requested_users: 5 });
    expect(oldRows.run_batches).toBeGreaterThan(0);

    const { result } = await runDailyReconciliation();
    // Every table with per-user rows of runs, and nothing else of the run: its list_creates row
    // (no user in it) stays.
    const perUserTables = Object.keys(result.retention.rows).sort();
    expect(perUserTables).toEqual(
      expect.arrayContaining(['run_batches', 'run_emails', 'run_requested_users', 'run_users']),
    );
    expect(perUserTables).not.toContain('list_creates');
    expect(result.retention).toEqual({
      runs: 1,
      rows: Object.fromEntries(perUserTables.map((table) => [table, oldRows[table]])),
      idempotencyKeys: 1,
      webhookDeliveries: 1,
    });
    const oldAfter = await perRunRows(old.runId);
    expect(oldAfter).toEqual({
      ...Object.fromEntries(Object.keys(oldRows).map((table) => [table, 0])),
      list_creates: oldRows.list_creates,
    });
    expect(await perRunRows(recent.runId)).toEqual(recentRows);
    expect(await perRunRows('retention-still-running')).toMatchObject({ run_users: 1 });
    const runs = await stack.db.sql`
      select run_id, status, processed, added, failed, skipped from audience_sync.runs
      where run_id = any(${[old.runId, recent.runId]}::text[]) order by started_at`;
    expect(runs).toEqual([
      { run_id: old.runId, status: 'completed', processed: 5, added: 5, failed: 0, skipped: 0 },
      { run_id: recent.runId, status: 'completed', processed: 5, added: 5, failed: 0, skipped: 0 },
    ]);
    const keys = await stack.db.sql`
      select key from audience_sync.idempotency_keys order by key`;
    expect(keys.map((row) => row.key)).toEqual(['key-Retention-recent', 'key-still-running']);
    const deliveries = await stack.db.sql`
      select svix_id from audience_sync.webhook_deliveries order by 1`;
    expect(deliveries.map((row) => row.svix_id)).toEqual(['msg_recent']);
    // The ledger that `new` and mirror runs read stays whole.
    expect(
      await stack.db.sql`select list_id, user_id from audience_sync.list_members order by 1, 2`,
    ).toEqual(ledgerBefore);
  });
});

describe('reconciliation', () => {
  it('records contacts deleted in Resend and suppressed emails, and erases users deleted in the app', async () => {
    const { users } = await syncSpecific(8_300_000_001, 6, 'Reconciled');
    const [gone, suppressed, deletedInApp, ...others] = users;
    if (!gone || !suppressed || !deletedInApp) throw new Error('seeding failed');
    for (const [path, body] of [
      ['/contacts/delete', { email: gone.email }],
      ['/suppressions', { email: suppressed.email, origin: 'bounce' }],
    ] as const) {
      const answer = await fetch(`${stack.emulator.url}/_emulator${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(answer.status).toBe(200);
    }
    await stack.db.sql`update users set deleted_at = now() where id = ${deletedInApp.id}`;

    const { workflowId, result } = await runDailyReconciliation();
    expect(result.platforms).toEqual([{ platform: 'resend', deleted: 1, suppressed: 1 }]);
    const consent = await stack.db.sql`
      select email_hash, contact_id is not null as has_contact, deleted_at is not null as deleted,
        suppressed_at is not null as suppressed
      from audience_sync.platform_consent order by deleted desc`;
    expect(consent).toEqual([
      { email_hash: emailHash(gone.email), has_contact: true, deleted: true, suppressed: false },
      {
        email_hash: emailHash(suppressed.email),
        has_contact: false,
        deleted: false,
        suppressed: true,
      },
    ]);
    // The deleted user of the app: erased by a child erasure run.
    expect(result.erasure).toMatchObject({
      status: 'completed',
      progress: { requested: 1, erased: 1, contactsDeleted: 1, failed: 0, pending: 0 },
    });
    expect([...(await schemaColumnsHolding(stack.db.sql, deletedInApp.id)).keys()]).toEqual([
      'erasure_tombstones.user_id',
    ]);
    const left = (await emulatedContacts(stack.emulator)).map((c) => c.email.toLowerCase());
    expect(left).not.toContain(deletedInApp.email);
    expect(left).toEqual(expect.arrayContaining([suppressed.email, ...others.map((u) => u.email)]));

    // A second day finds nothing new and erases no one twice.
    const again = await runDailyReconciliation();
    expect(again.result.platforms).toEqual([{ platform: 'resend', deleted: 0, suppressed: 1 }]);
    expect(again.result.erasure).toBeNull();

    const text = historyText([
      ...(await exportRunHistories(stack.client, workflowId)),
      ...(result.erasure ? await exportRunHistories(stack.client, result.erasure.erasureId) : []),
    ]);
    const leaks = users.filter(
      (user) =>
        text.includes(user.email) ||
        text.includes(user.full_name) ||
        text.includes(`"${user.last_name}"`),
    );
    expect(leaks).toEqual([]);
  });
});
