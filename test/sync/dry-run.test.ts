import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoUsers } from '../../db/demo-users.js';
import {
  type AppStack,
  createEmulatorSegment,
  ELIGIBLE_SQL,
  emulatedContacts,
  emulatorAdmin,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { exportRunHistories, historyText } from '../support/histories.js';

let stack: AppStack;

beforeAll(async () => {
  // Users 1..30 are all sendable, with emails nobody else has.
  stack = await startAppStack({ users: 30, mix: 'eligible', emulator: { rateLimit: 400 } });
});

afterAll(async () => {
  await stack?.stop();
});

const lastSeq = async (): Promise<number> => (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;
const requestsSince = (seq: number) => requestLog(stack.emulator, `&since_seq=${seq}`);

const segmentIds = async (): Promise<string[]> =>
  (await emulatorAdmin<{ data: { id: string }[] }>(stack.emulator, '/segments')).data
    .map((segment) => segment.id)
    .sort();

/** The service's ledger and field memory: a dry run must leave both as they were. */
const ledger = async () => ({
  members: await stack.db.sql`
    select platform, list_id, user_id, contact_id, email_hash, unsubscribed_at
    from audience_sync.list_members order by list_id, user_id`,
  fields: await stack.db.sql`
    select account, user_id, email_hash, fields from audience_sync.contact_fields order by user_id`,
});

const byId = (ids: string[]) => [...ids].sort();
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => String(from + index));
const planClass = (ids: string[]) => ({ count: ids.length, userIds: byId(ids).slice(0, 20) });

const emailOf = async (id: string): Promise<string> => {
  const [row] = await stack.db.sql<{ email: string }[]>`
    select lower(btrim(email)) as email from users where id = ${id}`;
  return row?.email ?? '';
};

/** The real run's outcome per user, as its run_users rows and its unchanged members have it. */
async function outcomesOf(runId: string) {
  const rows = await stack.db.sql<
    {
      userId: string;
      outcome: string;
      reason: string | null;
      updated: boolean;
      unsubscribed: boolean;
    }[]
  >`
    select user_id as "userId", outcome, reason, updated, unsubscribed
    from audience_sync.run_users where run_id = ${runId}
    union all
    select id, 'added', null, false, false
    from audience_sync.run_unchanged_members, unnest(user_ids) as id where run_id = ${runId}
    order by 1`;
  const ids = (keep: (row: (typeof rows)[number]) => boolean) =>
    byId(rows.filter(keep).map((row) => row.userId));
  const leavers = await stack.db.sql<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.run_leavers
    where run_id = ${runId} and outcome = 'removed'`;
  return {
    added: ids((row) => row.outcome === 'added'),
    updated: ids((row) => row.updated),
    unsubscribed: ids((row) => row.unsubscribed),
    skipped: (reason: string) => ids((row) => row.outcome === 'skipped' && row.reason === reason),
    failed: (reason: string) => ids((row) => row.outcome === 'failed' && row.reason === reason),
    removed: byId(leavers.map((row) => row.userId)),
  };
}

/** A run's skipped or failed users, as a plan groups them. */
async function endedBy(runId: string, outcome: 'skipped' | 'failed') {
  const rows = await stack.db.sql<{ userId: string; reason: string }[]>`
    select user_id as "userId", reason from audience_sync.run_users
    where run_id = ${runId} and outcome = ${outcome}`;
  const reasons = [...new Set(rows.map((row) => row.reason))];
  return {
    count: rows.length,
    byReason: Object.fromEntries(
      reasons.map((reason) => [
        reason,
        planClass(rows.filter((row) => row.reason === reason).map((row) => row.userId)),
      ]),
    ),
  };
}

describe('dry_run', () => {
  it('plans a mirror run into an existing list from reads alone, and the real run does exactly that', async () => {
    // A list this service keeps: every one of users 1..30 in it.
    const first = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'Dry run mirror',
      mode: 'mirror',
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ synced: 30, failed: 0, skipped: 0 });
    const listId: string = first.body.list_id;

    // Then the app changes: names, opt-outs, broken emails, a deletion, newcomers.
    await stack.db.sql`update users set first_name = 'Renamed' where id in (1, 2)`;
    await stack.db.sql`update users set marketing_opt_out = true where id in (3, 4)`;
    await stack.db.sql`update users set email = 'not-an-email-' || id where id in (5, 6)`;
    await stack.db.sql`update users set deleted_at = now() where id = 7`;
    await seedDemoUsers(stack.db.sql, { count: 7, firstId: 31, mix: 'eligible' });
    await stack.db.sql`update users set marketing_opt_out = true where id = 37`;
    // Newcomers 34..36 are contacts in Resend already: 34 and 35 without names (a first
    // meeting fills them in), 36 with the names the app has (nothing to patch).
    const [named] = await stack.db.sql<{ first_name: string; last_name: string }[]>`
      select first_name, last_name from users where id = 36`;
    const seededIds = await seedEmulatorContacts(stack.emulator, [
      { email: await emailOf('34') },
      { email: await emailOf('35') },
      {
        email: await emailOf('36'),
        first_name: named?.first_name ?? null,
        last_name: named?.last_name ?? null,
      },
    ]);

    const body = { platform: 'resend', list_id: listId, mode: 'mirror' };
    const ledgerBefore = await ledger();
    const segmentsBefore = await segmentIds();
    const contactsBefore = await emulatedContacts(stack.emulator);
    const seq = await lastSeq();

    const dry = await stack.call('POST', '/api/marketing/sync', { ...body, dry_run: true });
    expect(dry.status).toBe(200);

    const present = ['1', '2', ...range(8, 30)];
    const expectedPlan = {
      list: { id: listId, name: 'Dry run mirror', create: false },
      tagsToCreate: [],
      create: planClass(['31', '32', '33']),
      join: planClass(['34', '35', '36']),
      present: planClass(present),
      update: planClass(['1', '2', '34', '35']),
      remove: planClass(['3', '4', '5', '6', '7']),
      unsubscribe: planClass(['3', '4']),
      skipped: { count: 3, byReason: { opted_out: planClass(['3', '37', '4']) } },
      failed: { count: 2, byReason: { invalid_email: planClass(['5', '6']) } },
      removalGuard: { tracked: 30, wouldRemove: 5, maxRemovals: 15, tripped: false },
    };
    expect(dry.body).toEqual({
      success: true,
      message:
        'Dry run, nothing written: a real run would create 3 contacts, add 3 existing contacts to the list, update 4 contacts, remove 5 contacts and mark 2 contacts unsubscribed (25 already in the list, 3 skipped, 2 failed)',
      dryRun: true,
      plan: expectedPlan,
      // What the run would do, in the counts of a real run.
      synced: 31,
      failed: 2,
      skipped: 3,
      removed: 0,
      unsubscribed: 2,
      updated: 4,
      list_id: listId,
      runId: expect.any(String),
    });
    // 25 present users, of whom the first 20 by id are named.
    expect(expectedPlan.present.count).toBe(25);

    // Only reads reached Resend; no list was made, no contact changed; the ledger is as it was.
    const during = await requestsSince(seq);
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((entry) => entry.method !== 'GET')).toEqual([]);
    expect(await segmentIds()).toEqual(segmentsBefore);
    expect(await emulatedContacts(stack.emulator)).toEqual(contactsBefore);
    expect(await ledger()).toEqual(ledgerBefore);

    // The plan is in the run's Temporal result: user ids and counts, no email or name.
    const text = historyText(await exportRunHistories(stack.client, dry.body.runId));
    // Payloads are JSON inside the history's JSON: their quotes are escaped.
    expect(text).toContain('\\"plan\\":{\\"list\\"');
    const people = await stack.db.sql<{ email: string; last_name: string; full_name: string }[]>`
      select email, last_name, full_name from users`;
    expect(
      people.filter(
        (user) =>
          text.includes(user.email.toLowerCase()) ||
          text.includes(user.full_name) ||
          text.includes(`\\"${user.last_name}\\"`),
      ),
    ).toEqual([]);

    const status = await waitForRunEnd(stack, dry.body.runId);
    expect(status).toMatchObject({
      status: 'completed',
      dryRun: true,
      plan: expectedPlan,
      audience: { id: listId, name: 'Dry run mirror' },
    });

    // The real run with the same body does exactly what the plan said.
    const realSeq = await lastSeq();
    const real = await stack.call('POST', '/api/marketing/sync', body);
    expect(real.status).toBe(200);
    expect(real.body).toMatchObject({
      synced: 31,
      failed: 2,
      skipped: 3,
      removed: 5,
      unsubscribed: 2,
      updated: 4,
    });
    expect(real.body.dryRun).toBeUndefined();
    const outcomes = await outcomesOf(real.body.runId);
    expect(outcomes.added).toEqual(byId(['31', '32', '33', '34', '35', '36', ...present]));
    expect(outcomes.updated).toEqual(byId(['1', '2', '34', '35']));
    expect(outcomes.unsubscribed).toEqual(['3', '4']);
    expect(outcomes.skipped('opted_out')).toEqual(byId(['3', '4', '37']));
    expect(outcomes.failed('invalid_email')).toEqual(['5', '6']);
    expect(outcomes.removed).toEqual(byId(['3', '4', '5', '6', '7']));

    // create: new contacts; join: the existing contacts, not new ones; present: no request.
    const after = new Map(
      (await emulatedContacts(stack.emulator)).map((contact) => [contact.email, contact]),
    );
    const existedBefore = new Set(contactsBefore.map((contact) => contact.email));
    for (const id of ['31', '32', '33']) {
      const email = await emailOf(id);
      expect(existedBefore.has(email)).toBe(false);
      expect(after.get(email)?.segment_ids).toContain(listId);
    }
    for (const [index, id] of ['34', '35', '36'].entries()) {
      const contact = after.get(await emailOf(id));
      expect(contact?.id).toBe(seededIds[index]);
      expect(contact?.segment_ids).toContain(listId);
    }
    for (const id of ['1', '2']) {
      expect(after.get(await emailOf(id))?.first_name).toBe('Renamed');
    }
    // The real run's writes are the plan's: contact patches only for update and unsubscribe.
    const patched = (await requestsSince(realSeq)).filter((entry) => entry.method === 'PATCH');
    expect(patched).toHaveLength(4 + 2);
  });

  it('plans a removal guard that would trip and tag lists that would be created', async () => {
    await seedDemoUsers(stack.db.sql, { count: 3, firstId: 201, mix: 'eligible' });
    const first = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'Dry run guarded',
      mode: 'mirror',
      filterActive: true,
    });
    expect(first.status).toBe(200);
    const listId: string = first.body.list_id;
    const tracked = await stack.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.list_members where list_id = ${listId}`;
    expect(tracked.map((row) => row.userId)).toEqual(expect.arrayContaining(['201', '202']));
    // Two members leave the filter; the run may remove one.
    await stack.db.sql`
      update users set last_active_at = now() - interval '90 days' where id in (201, 202)`;
    const stayed = byId(
      tracked.map((row) => row.userId).filter((id) => id !== '201' && id !== '202'),
    );
    const body = {
      platform: 'resend',
      list_id: listId,
      mode: 'mirror',
      filterActive: true,
      max_removals: 1,
      tags: ['Dry run new tag'],
    };
    const segmentsBefore = await segmentIds();
    const seq = await lastSeq();
    const dry = await stack.call('POST', '/api/marketing/sync', { ...body, dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body.plan).toEqual({
      list: { id: listId, name: 'Dry run guarded', create: false },
      tagsToCreate: ['Dry run new tag'],
      create: planClass([]),
      // Already in the list, but not yet in the new tag's list: they would join it.
      join: planClass(stayed),
      present: planClass([]),
      update: planClass([]),
      remove: planClass(['201', '202']),
      unsubscribe: planClass([]),
      // Whatever earlier tests left unsendable is so again, for the same reasons.
      skipped: await endedBy(first.body.runId, 'skipped'),
      failed: await endedBy(first.body.runId, 'failed'),
      removalGuard: { tracked: tracked.length, wouldRemove: 2, maxRemovals: 1, tripped: true },
    });
    expect((await requestsSince(seq)).filter((entry) => entry.method !== 'GET')).toEqual([]);
    expect(await segmentIds()).toEqual(segmentsBefore);

    // The real run meets the guard as planned: it removes none and fails; its adds stay.
    const real = await stack.call('POST', '/api/marketing/sync', body);
    expect(real.status).toBe(409);
    expect(real.body.error.code).toBe('removal_guard_tripped');
    const runId: string = real.body.error.details[0].runId;
    const outcomes = await outcomesOf(runId);
    expect(outcomes.added).toEqual(stayed);
    expect(outcomes.removed).toEqual([]);
    const tagLists = await emulatorAdmin<{ data: { id: string; name: string }[] }>(
      stack.emulator,
      '/segments',
    );
    expect(tagLists.data.filter((segment) => segment.name === 'Dry run new tag')).toHaveLength(1);
  });

  it('neither holds the list nor counts against MAX_CONCURRENT_RUNS', async () => {
    const listId = await createEmulatorSegment(stack.emulator, 'Dry run while busy');
    // As many runs running as the limit allows (10), one of them holding the list.
    const holders = Array.from({ length: 10 }, (_, index) => `busy-run-${index}`);
    for (const [index, runId] of holders.entries()) {
      await stack.db.sql`
        insert into audience_sync.runs (run_id, platform, sync_type, trigger, list_id, list_name,
          tags, filter_active, active_days, active_since)
        values (${runId}, 'resend', 'all', 'api', ${index === 0 ? listId : null}, 'Busy', '{}',
          false, 30, now())`;
    }
    try {
      const real = await stack.call('POST', '/api/marketing/sync', {
        platform: 'resend',
        list_name: 'One too many',
      });
      expect(real.status).toBe(429);
      expect(real.body.error.code).toBe('too_many_runs');

      const dry = await stack.call(
        'POST',
        '/api/marketing/sync',
        { platform: 'resend', list_id: listId, dry_run: true },
        { prefer: 'respond-async' },
      );
      expect(dry.status).toBe(202);
      expect(dry.body).toMatchObject({ status: 'running', dryRun: true });
      expect(dry.body.runId).not.toBe(holders[0]);
      const status = await waitForRunEnd(stack, dry.body.runId);
      expect(status.status).toBe('completed');
      expect(status.plan.list).toEqual({ id: listId, name: 'Dry run while busy', create: false });
      // The list is still the holder's alone.
      const [holder] = await stack.db.sql<{ runId: string }[]>`
        select run_id as "runId" from audience_sync.runs
        where list_id = ${listId} and status = 'running' and not dry_run`;
      expect(holder?.runId).toBe(holders[0]);
    } finally {
      await stack.db.sql`
        update audience_sync.runs set status = 'completed', finished_at = now()
        where run_id = any(${holders}::text[])`;
    }
  });

  it('keeps what its reads teach: a contact Resend has unsubscribed is planned skipped, and the opt-outs feed names its user', async () => {
    await seedDemoUsers(stack.db.sql, { count: 2, firstId: 201, mix: 'eligible' });
    // Emails no other test of this file has put into Resend.
    await stack.db.sql`
      update users set email = 'dry-run-consent-' || id || '@example.org' where id in (201, 202)`;
    await seedEmulatorContacts(stack.emulator, [
      { email: await emailOf('201'), unsubscribed: true },
    ]);
    try {
      const seq = await lastSeq();
      const dry = await stack.call('POST', '/api/marketing/sync', {
        platform: 'resend',
        list_name: 'Dry run consent',
        sync_type: 'specific',
        user_ids: ['201', '202'],
        dry_run: true,
      });
      expect(dry.status).toBe(200);
      expect(dry.body.plan).toMatchObject({
        create: planClass(['202']),
        join: { count: 0, userIds: [] },
        skipped: { count: 1, byReason: { unsubscribed_in_platform: planClass(['201']) } },
        failed: { count: 0, byReason: {} },
      });
      expect((await requestsSince(seq)).filter((entry) => entry.method !== 'GET')).toEqual([]);
      const feed = await stack.db.sql<{ userId: string; origin: string }[]>`
        select user_id as "userId", origin from audience_sync.opt_outs
        where user_id in ('201', '202') order by seq`;
      expect([...feed]).toEqual([{ userId: '201', origin: 'unsubscribed' }]);
    } finally {
      // The other tests of this file expect every eligible user to be sendable.
      await stack.db.sql`update users set deleted_at = now() where id in (201, 202)`;
    }
  });

  it('plans a sync into a new audience without creating it', async () => {
    // Newcomers of its own, so some contacts are new whatever ran before.
    await seedDemoUsers(stack.db.sql, { count: 4, firstId: 101, mix: 'eligible' });
    const eligible = await stack.db.sql.unsafe<{ id: string; email: string }[]>(
      `select id::text, lower(btrim(email)) as email from users where ${ELIGIBLE_SQL} order by id`,
    );
    // One eligible user's contact exists in Resend already (it would join); the rest are new.
    const known = new Set((await emulatedContacts(stack.emulator)).map((contact) => contact.email));
    const [newcomer] = eligible.filter((user) => !known.has(user.email));
    expect(newcomer).toBeDefined();
    await seedEmulatorContacts(stack.emulator, [{ email: newcomer?.email ?? '' }]);
    known.add(newcomer?.email ?? '');
    const join = eligible.filter((user) => known.has(user.email)).map((user) => user.id);
    const create = eligible.filter((user) => !known.has(user.email)).map((user) => user.id);

    const body = { audienceName: 'Dry run audience' };
    const segmentsBefore = await segmentIds();
    const seq = await lastSeq();
    const dry = await stack.call('POST', '/api/marketing/sync-users', { ...body, dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      success: true,
      dryRun: true,
      audience: { id: null, name: 'Dry run audience' },
      contactsAdded: eligible.length,
    });
    expect(dry.body.plan).toMatchObject({
      list: { id: null, name: 'Dry run audience', create: true },
      create: planClass(create),
      join: planClass(join),
      present: { count: 0, userIds: [] },
      update: planClass([newcomer?.id ?? '']),
      remove: { count: 0, userIds: [] },
    });
    expect((await requestsSince(seq)).filter((entry) => entry.method !== 'GET')).toEqual([]);
    expect(await segmentIds()).toEqual(segmentsBefore);

    const real = await stack.call('POST', '/api/marketing/sync-users', body);
    expect(real.status).toBe(200);
    expect(real.body).toMatchObject({
      contactsAdded: eligible.length,
      contactsUpdated: 1,
    });
    const audienceId: string = real.body.audience.id;
    const members = await emulatedContacts(stack.emulator, `&segment_id=${audienceId}`);
    expect(members.map((contact) => contact.email).sort()).toEqual(
      eligible.map((user) => user.email).sort(),
    );
  });
});
