import { Resend } from 'resend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  ELIGIBLE_SQL,
  eligibleEmails as eligibleEmailsOf,
  emulatedContacts,
  emulatorAdmin,
  startAppStack,
} from '../support/app-stack.js';
import { exportRunHistories, historyText } from '../support/histories.js';
import { TEST_RESEND_KEY, TEST_SECRET } from '../support/stack.js';

let stack: AppStack;

beforeAll(async () => {
  // The API waits longer than its 20 s default here: a run of 2,400 users on a busy machine can
  // take longer, and the tests below read the answer of a finished run.
  stack = await startAppStack({
    users: 2400,
    emulator: { rateLimit: 400 },
    api: { SYNC_WAIT_SECONDS: '100' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const eligibleEmails = (filter: string) => eligibleEmailsOf(stack, filter);

describe('GET /api/marketing/sync-users (preview)', () => {
  it.each([
    ['filterActive=false', 'true'],
    ['filterActive=true&activeDays=7', "last_active_at >= now() - interval '7 days'"],
    ['filterActive=1&activeDays=30', "last_active_at >= now() - interval '30 days'"],
    ['filterActive=true&activeDays=365', "last_active_at >= now() - interval '365 days'"],
    ['filterActive=0&activeDays=5', 'true'],
  ])('counts eligible distinct emails for %s as SQL does', async (query, filter) => {
    const answer = await stack.call('GET', `/api/marketing/sync-users?${query}`);
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(true);
    expect(answer.body.count).toBe((await eligibleEmails(filter)).length);
    expect(answer.body.filters).toMatchObject({
      filterActive: /filterActive=(true|1)/.test(query),
      activeDays: Number(/activeDays=(\d+)/.exec(query)?.[1] ?? 30),
    });
    expect(Number.isNaN(Date.parse(answer.body.filters.activeSince))).toBe(false);
  });

  it('samples the first five eligible users by id, one per email', async () => {
    const expected = await stack.db.sql.unsafe<{ email: string }[]>(`
      select email from (
        select distinct on (lower(btrim(email))) id, btrim(email) as email from users
        where ${ELIGIBLE_SQL} order by lower(btrim(email)), id
      ) firsts order by id limit 5`);
    const answer = await stack.call('GET', '/api/marketing/sync-users');
    expect(answer.body.sample.map((user: { email: string }) => user.email)).toEqual(
      expected.map((row) => row.email),
    );
    for (const user of answer.body.sample) {
      expect(Object.keys(user).sort()).toEqual(['email', 'first_name', 'full_name', 'last_name']);
    }
  });
});

describe('POST /api/marketing/sync-users (sync)', () => {
  let answer: Awaited<ReturnType<AppStack['call']>>;

  beforeAll(async () => {
    answer = await stack.call('POST', '/api/marketing/sync-users', { audienceName: 'Everyone' });
  }, 120_000);

  it("answers with SPEC's shape once the run finished", () => {
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      success: true,
      audience: { id: expect.any(String), name: 'Everyone' },
      contactsAdded: expect.any(Number),
      contactsFailed: expect.any(Number),
      contactsSkipped: expect.any(Number),
      // A first sync into a new segment patches no one.
      contactsUpdated: 0,
      message: expect.any(String),
      runId: expect.stringMatching(/^sync-users-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-[0-9a-f]{8}$/),
    });
  });

  it('makes every eligible user a contact in the new segment exactly once', async () => {
    const expected = await eligibleEmails('true');
    expect(expected.length).toBeGreaterThan(2000);
    const inSegment = await emulatedContacts(
      stack.emulator,
      `&segment_id=${answer.body.audience.id}`,
    );
    const emails = inSegment.map((contact) => contact.email.toLowerCase()).sort();
    expect(emails).toEqual(expected);
    expect(answer.body.contactsAdded).toBe(expected.length);
    const all = await emulatedContacts(stack.emulator);
    expect(new Set(all.map((c) => c.email.toLowerCase())).size).toBe(all.length);
  });

  it('shows the same members through the official SDK', async () => {
    const resend = new Resend(TEST_RESEND_KEY, { baseUrl: stack.emulator.url });
    const emails: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await resend.contacts.list({
        segmentId: answer.body.audience.id,
        limit: 100,
        ...(after ? { after } : {}),
      });
      expect(page.error).toBeNull();
      emails.push(...(page.data?.data ?? []).map((contact) => contact.email.toLowerCase()));
      after = page.data?.data.at(-1)?.id;
      if (!page.data?.has_more) break;
    }
    expect(emails.sort()).toEqual(await eligibleEmails('true'));
  });

  it('accounts for every user it looked at: counts add up to the population', async () => {
    const [population] = await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from users where deleted_at is null`;
    const { added, failed, skipped } = {
      added: answer.body.contactsAdded,
      failed: answer.body.contactsFailed,
      skipped: answer.body.contactsSkipped,
    };
    expect(added + failed + skipped).toBe(population?.count);
    const outcomes = await stack.db.sql<
      { outcome: string; reason: string | null; count: number }[]
    >`
      select outcome, reason, count(*)::int as count from audience_sync.run_users
      where run_id = ${answer.body.runId} group by outcome, reason order by outcome, reason`;
    expect(outcomes.reduce((sum, row) => sum + row.count, 0)).toBe(population?.count);
    expect(outcomes.map((row) => `${row.outcome}:${row.reason ?? ''}`)).toEqual([
      'added:',
      'failed:invalid_email',
      'skipped:duplicate_email',
      'skipped:opted_out',
    ]);
  });

  it('reports the run, its progress and its rejected users through the status endpoint', async () => {
    const status = await stack.call('GET', `/api/marketing/sync-users/${answer.body.runId}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      success: true,
      runId: answer.body.runId,
      status: 'completed',
      audience: { id: answer.body.audience.id, name: 'Everyone' },
      progress: {
        added: answer.body.contactsAdded,
        failed: answer.body.contactsFailed,
        skipped: answer.body.contactsSkipped,
      },
    });
    expect(status.body.progress.total).toBe(status.body.progress.processed);
    expect(status.body.rejected.length).toBe(Math.min(100, answer.body.contactsFailed));
    expect(status.body.rejected[0]).toEqual({
      userId: expect.any(String),
      reason: 'invalid_email',
    });
    expect(Date.parse(status.body.finishedAt)).toBeGreaterThanOrEqual(
      Date.parse(status.body.startedAt),
    );
  });

  it('keeps emails and names of users out of the run history', async () => {
    const histories = await exportRunHistories(stack.client, answer.body.runId);
    expect(histories.length).toBeGreaterThan(1); // the run continued as new at least once
    const text = historyText(histories);
    expect(text).toContain(answer.body.runId);
    const users = await stack.db.sql<{ email: string; last_name: string; full_name: string }[]>`
      select email, last_name, full_name from users where email like '%@%.%'`;
    const leaks = users.filter(
      (user) =>
        text.includes(user.email.toLowerCase()) ||
        text.includes(user.email) ||
        text.includes(user.full_name) ||
        text.includes(`"${user.last_name}"`),
    );
    expect(leaks).toEqual([]);
  });

  it('creates one segment per call, and none for a repeated Idempotency-Key', async () => {
    const before = await emulatorAdmin<{ data: unknown[] }>(stack.emulator, '/segments');
    const headers = { 'idempotency-key': 'weekly-newsletter-2026-11-26', prefer: 'respond-async' };
    const first = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { filterActive: true, activeDays: 1 },
      headers,
    );
    const repeat = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { filterActive: true, activeDays: 1 },
      headers,
    );
    expect(first.status).toBe(202);
    expect(repeat.status).toBe(202);
    expect(repeat.body.runId).toBe(first.body.runId);
    const finished = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { filterActive: true, activeDays: 1 },
      {
        'idempotency-key': 'weekly-newsletter-2026-11-26',
      },
    );
    expect(finished.status).toBe(200);
    expect(finished.body.runId).toBe(first.body.runId);
    const after = await emulatorAdmin<{ data: unknown[] }>(stack.emulator, '/segments');
    expect(after.data.length).toBe(before.data.length + 1);

    const otherBody = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { filterActive: false },
      {
        'idempotency-key': 'weekly-newsletter-2026-11-26',
      },
    );
    expect(otherBody.status).toBe(422);
    expect(otherBody.body.error.code).toBe('idempotency_key_reused');
  });
});

describe('the client code marketing teams run', () => {
  it('previews and syncs with the Bearer header, as written', async () => {
    const API_URL = stack.api.url;
    const MARKETING_API_SECRET = TEST_SECRET;

    const previewResponse = await fetch(
      `${API_URL}/api/marketing/sync-users?filterActive=true&activeDays=7`,
      { headers: { Authorization: `Bearer ${MARKETING_API_SECRET}` } },
    );
    const preview = await previewResponse.json();
    expect(previewResponse.status).toBe(200);
    expect(preview).toEqual({
      success: true,
      count: expect.any(Number),
      countedAt: expect.any(String),
      sample: expect.any(Array),
      filters: { filterActive: true, activeDays: 7, activeSince: expect.any(String) },
    });

    const syncResponse = await fetch(`${API_URL}/api/marketing/sync-users`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${MARKETING_API_SECRET}`,
      },
      body: JSON.stringify({
        filterActive: true,
        activeDays: 60,
        audienceName: 'Active in the last 60 days',
      }),
    });
    const sync = await syncResponse.json();
    expect(syncResponse.status).toBe(200);
    expect(sync).toMatchObject({
      success: true,
      audience: { id: expect.any(String), name: 'Active in the last 60 days' },
      contactsAdded: (await eligibleEmails("last_active_at >= now() - interval '60 days'")).length,
      contactsFailed: expect.any(Number),
      contactsSkipped: expect.any(Number),
      message: expect.any(String),
      runId: expect.any(String),
    });
  });
});
