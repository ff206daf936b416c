import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nameMembersKnownByEmail } from '../../activities/member-contacts.js';
import type { LearnedCursor } from '../../activities/platforms/platform.js';
import { createConnectionGate } from '../../activities/platforms/request-gate.js';
import { createResendClient } from '../../activities/platforms/resend/client.js';
import { createContactDirectory } from '../../activities/platforms/resend/contact-directory.js';
import { resendAccountId } from '../../activities/platforms/resend/index.js';
import { emailHash } from '../../common/emails.js';
import { createUsersTable } from '../../db/demo-users.js';
import type { DailyReconciliationResult } from '../../workflows/daily-reconciliation.js';
import {
  type AppStack,
  emulatedContacts,
  type LoggedRequest,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { startHoldingProxy } from '../support/holding-proxy.js';
import { TEST_RESEND_KEY, uniqueName, waitFor } from '../support/stack.js';
import { outcomesOf, type TestUser, testUsers } from '../support/test-users.js';

/**
 * A list kept by recurring mirror runs after a bulk first sync: the users a Contact Import put
 * into the list are members this service made, so a run sends nothing for them unless they
 * changed, and what changed is found and sent without a request per unchanged user. The
 * directory reads only what changed on the platform each run; the sweep over older contacts
 * (deletions and unsubscribes made without webhooks) is the daily reconciliation's.
 */

let stack: AppStack;
const users = testUsers(() => stack.db.sql);

beforeAll(async () => {
  stack = await startAppStack({ emulator: { rateLimit: 300 }, worker: { RESEND_BULK: 'auto' } });
  await createUsersTable(stack.db.sql);
});

afterAll(async () => {
  await stack?.stop();
});

// Mirror runs sync the whole relation: each test's population is its own users.
beforeEach(async () => {
  await stack.db.sql`delete from users`;
});

async function sync(body: Record<string, unknown>) {
  const answer = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    mode: 'mirror',
    ...body,
  });
  expect(answer.status).toBe(200);
  return { runId: answer.body.runId as string, listId: answer.body.list_id as string };
}

const outcomes = (runId: string, of: TestUser[]) => outcomesOf(stack.db.sql, runId, of);

const lastSeq = async () => (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;

/** The requests since `mark`, as `METHOD path`, sorted. */
const routesSince = async (mark: number): Promise<string[]> =>
  (await requestLog(stack.emulator, `&since_seq=${mark}`))
    .map((entry: LoggedRequest) => `${entry.method} ${entry.path}`)
    .sort();

const contactsByEmail = async () =>
  new Map((await emulatedContacts(stack.emulator)).map((contact) => [contact.email, contact]));

const ledgerOf = (listId: string) =>
  stack.db.sql<{ userId: string; contactId: string | null; emailHash: string; origin: string }[]>`
    select user_id as "userId", contact_id as "contactId", email_hash as "emailHash", origin
    from audience_sync.list_members where list_id = ${listId} order by user_id::int`;

const bulkModeOf = async (runId: string) =>
  (await stack.call('GET', `/api/marketing/sync-users/${encodeURIComponent(runId)}`)).body.bulk
    ?.mode;

const everyAdded = (of: TestUser[]) => Object.fromEntries(of.map((user) => [user.id, 'added']));

/** A bulk first sync of these users into a new list, kept by mirror runs. */
async function bulkFirstSync(name: string, of: TestUser[]) {
  const first = await sync({ list_name: uniqueName(name) });
  expect(await bulkModeOf(first.runId)).toBe('imports');
  expect(await outcomes(first.runId, of)).toEqual(everyAdded(of));
  // Recorded as members this service made, by the email they were created with.
  expect(
    (await ledgerOf(first.listId)).map(({ userId, emailHash: hash, origin }) => ({
      userId,
      emailHash: hash,
      origin,
    })),
  ).toEqual(
    of.map((user) => ({ userId: user.id, emailHash: emailHash(user.email), origin: 'made' })),
  );
  return first;
}

describe('members a Contact Import put into the list', () => {
  it('cost no request in the next mirror runs when nothing changed', async () => {
    const steady = await users.addMany('steady', 6);
    const first = await bulkFirstSync('Steady', steady);
    const segment = first.listId;

    const mark = await lastSeq();
    const second = await sync({ list_id: segment });
    expect(await outcomes(second.runId, steady)).toEqual(everyAdded(steady));
    // The list is read, and the directory learns the contacts the import created (one page);
    // nothing names a member.
    expect(await routesSince(mark)).toEqual(['GET /contacts', `GET /segments/${segment}`]);
    // The ledger now knows each member's contact id, from the directory's page.
    const byEmail = await contactsByEmail();
    expect(
      (await ledgerOf(segment)).map(({ userId, contactId }) => ({ userId, contactId })),
    ).toEqual(steady.map((user) => ({ userId: user.id, contactId: byEmail.get(user.email)?.id })));

    const again = await lastSeq();
    const third = await sync({ list_id: segment });
    expect(await outcomes(third.runId, steady)).toEqual(everyAdded(steady));
    expect(await routesSince(again)).toEqual(['GET /contacts', `GET /segments/${segment}`]);
    // The run's one batch found nobody changed; the unchanged members were recorded at once,
    // every one of them counted.
    const batches = await stack.db.sql<{ batchNo: number }[]>`
      select batch_no as "batchNo" from audience_sync.run_batches
      where run_id = ${third.runId} order by batch_no`;
    expect(batches.map((row) => row.batchNo)).toEqual([1]);
    const status = await stack.call('GET', `/api/marketing/sync-users/${third.runId}`);
    expect(status.body.progress).toMatchObject({
      total: 6,
      processed: 6,
      added: 6,
      updated: 0,
      skipped: 0,
      failed: 0,
      removed: 0,
    });
    const members = await emulatedContacts(stack.emulator, `&segment_id=${segment}`);
    expect(members.map((contact) => contact.email).sort()).toEqual(
      steady.map((user) => user.email).sort(),
    );
  });

  it('are found and sent when a name, an email or the population changes, and only those', async () => {
    const [renamed, moved, leaver, ...unchanged] = await users.addMany('changes', 6);
    if (!renamed || !moved || !leaver) throw new Error('no users');
    const everyone = [renamed, moved, leaver, ...unchanged];
    const first = await bulkFirstSync('Changes', everyone);
    const segment = first.listId;
    const before = await contactsByEmail();

    const newEmail = `new.${moved.email}`;
    await stack.db.sql`update users set last_name = 'Renamed' where id = ${renamed.id}`;
    await stack.db.sql`update users set email = ${newEmail} where id = ${moved.id}`;
    await stack.db.sql`update users set deleted_at = now() where id = ${leaver.id}`;
    const mark = await lastSeq();
    const run = await sync({ list_id: segment });
    expect(await outcomes(run.runId, everyone)).toEqual(everyAdded([renamed, moved, ...unchanged]));
    const leavers = await stack.db.sql<{ userId: string; outcome: string }[]>`
      select user_id as "userId", outcome from audience_sync.run_leavers where run_id = ${run.runId}`;
    expect(leavers).toEqual([{ userId: leaver.id, outcome: 'removed' }]);

    const oldId = before.get(moved.email)?.id;
    const leaverId = before.get(leaver.email)?.id;
    const renamedId = before.get(renamed.email)?.id;
    const routes = await routesSince(mark);
    // One write per change (the new email's contact is created by the run's import), and
    // nothing for the unchanged members.
    expect(routes.filter((route) => !route.startsWith('GET '))).toEqual(
      [
        `DELETE /contacts/${oldId}/segments/${segment}`,
        `DELETE /contacts/${leaverId}/segments/${segment}`,
        `PATCH /contacts/${renamedId}`,
        'POST /contacts/imports',
      ].sort(),
    );
    for (const user of unchanged) {
      const id = before.get(user.email)?.id ?? '';
      expect(routes.filter((route) => route.includes(id) || route.includes(user.email))).toEqual(
        [],
      );
    }

    const after = await contactsByEmail();
    expect(after.get(renamed.email)?.last_name).toBe('Renamed');
    const members = await emulatedContacts(stack.emulator, `&segment_id=${segment}`);
    expect(members.map((contact) => contact.email).sort()).toEqual(
      [renamed.email, newEmail, ...unchanged.map((user) => user.email)].sort(),
    );
    // The old contact and the leaver's stay in Resend, out of the list.
    expect(after.get(moved.email)?.segment_ids).toEqual([]);
    expect(after.get(leaver.email)?.segment_ids).toEqual([]);
  });
});

/** Starts the daily reconciliation now and waits for its result. */
async function reconcile(): Promise<DailyReconciliationResult> {
  return stack.client.workflow.execute('DailyReconciliationWorkflow', {
    taskQueue: stack.workerConfig.TEMPORAL_TASK_QUEUE,
    workflowId: uniqueName('reconciliation'),
    args: [],
  });
}

describe('the contact directory', () => {
  it('reads only the pages that changed each run; the reconciliation finds what changed on older contacts', async () => {
    // 1,000 contacts someone else made, older than anything this service syncs.
    await seedEmulatorContacts(
      stack.emulator,
      Array.from({ length: 1000 }, (_, index) => ({
        email: `${uniqueName(`older${index}`)}@example.com`,
      })),
    );
    const kept = await users.addMany('directory', 3);
    const [gone, quitter] = kept;
    if (!gone || !quitter) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Directory') });
    const segment = first.listId;
    const directoryPages = async (mark: number) =>
      (await routesSince(mark)).filter((route) => route === 'GET /contacts').length;

    // Nothing changed on the platform: one page, the newest, says so.
    const settled = await sync({ list_id: segment });
    const mark = await lastSeq();
    const quiet = await sync({ list_id: segment });
    expect(await outcomes(quiet.runId, kept)).toEqual(everyAdded(kept));
    expect(await directoryPages(mark)).toBe(1);
    expect(settled.runId).not.toBe(quiet.runId);

    // 150 contacts created elsewhere since: the look for newer ones, then the two pages they fill.
    await seedEmulatorContacts(
      stack.emulator,
      Array.from({ length: 150 }, (_, index) => ({
        email: `${uniqueName(`newer${index}`)}@example.com`,
      })),
    );
    const busyMark = await lastSeq();
    const busy = await sync({ list_id: segment });
    expect(await outcomes(busy.runId, kept)).toEqual(everyAdded(kept));
    expect(await directoryPages(busyMark)).toBe(3);

    // Without webhooks, one member's contact is deleted in Resend and another unsubscribes there:
    // no run reads their pages again, the daily reconciliation does.
    await fetch(`${stack.emulator.url}/_emulator/contacts/delete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: gone.email }),
    }).then((response) => expect(response.status).toBe(200));
    await fetch(`${stack.emulator.url}/_emulator/contacts/unsubscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: quitter.email }),
    }).then((response) => expect(response.status).toBe(200));
    const result = await reconcile();
    expect(result.platforms).toEqual([{ platform: 'resend', deleted: 1, suppressed: 0 }]);
    const facts = await stack.db.sql<{ emailHash: string; deleted: boolean; unsub: boolean }[]>`
      select email_hash as "emailHash", deleted_at is not null as deleted,
        unsubscribed is true as unsub
      from audience_sync.platform_consent
      where email_hash = any(${[gone.email, quitter.email].map(emailHash)}::text[])
      order by deleted desc`;
    expect(facts).toEqual([
      { emailHash: emailHash(gone.email), deleted: true, unsub: false },
      { emailHash: emailHash(quitter.email), deleted: false, unsub: true },
    ]);

    const createsMark = await lastSeq();
    const next = await sync({ list_id: segment });
    expect(await outcomes(next.runId, kept)).toEqual({
      ...everyAdded(kept),
      [gone.id]: 'skipped:deleted_in_platform',
      [quitter.id]: 'skipped:unsubscribed_in_platform',
    });
    expect((await routesSince(createsMark)).filter((route) => route === 'POST /contacts')).toEqual(
      [],
    );
  });
});

describe("a batch's look at the directory", () => {
  it('reads every contact created since a recent look in one request, however many', async () => {
    const account = resendAccountId(TEST_RESEND_KEY);
    const directoryOf = () =>
      createContactDirectory(
        stack.db.sql,
        createResendClient({
          apiKey: TEST_RESEND_KEY,
          baseUrl: stack.emulator.url,
          gate: createConnectionGate(4),
          signal: new AbortController().signal,
          onAnswer: () => {},
        }),
        account,
      );
    // The last look saw a contact made a moment ago (the emulator dates contacts as it makes them).
    await seedEmulatorContacts(stack.emulator, [{ email: `${uniqueName('looked')}@example.com` }]);
    await directoryOf().refresh();
    // 250 made elsewhere since: two and a half pages.
    const emails = Array.from({ length: 250 }, (_, index) =>
      `${uniqueName(`since${index}`)}@example.com`.toLowerCase(),
    );
    const ids = await seedEmulatorContacts(
      stack.emulator,
      emails.map((email) => ({ email })),
    );
    const mark = await lastSeq();
    const directory = directoryOf();
    expect(await directory.refresh({ shared: true })).toEqual({ pages: 1 });
    expect(await routesSince(mark)).toEqual(['GET /contacts']);
    const known = await directory.lookup(emails);
    expect(emails.map((email) => known.get(email)?.id)).toEqual(ids);
  });
});

describe('the run after a bulk first sync', () => {
  /** The routes other than the import's polls, and how many polls there were. */
  const withoutPolls = (routes: string[]) => ({
    routes: routes.filter((route) => !route.startsWith('GET /contacts/imports/')),
    polls: routes.filter((route) => route.startsWith('GET /contacts/imports/')).length,
  });

  it('reads no page per imported contact: a rename, a leaver and a joiner cost their own requests', async () => {
    // More than two pages of contacts, created by one import; the first rows are the oldest.
    const imported = await users.addMany('imported', 250);
    const [renamed, leaver] = imported;
    if (!renamed || !leaver) throw new Error('no users');
    const first = await bulkFirstSync('Imported', imported);
    const segment = first.listId;

    await stack.db.sql`update users set last_name = 'Renamed' where id = ${renamed.id}`;
    await stack.db.sql`update users set deleted_at = now() where id = ${leaver.id}`;
    const [joiner] = await users.addMany('joiner', 1);
    if (!joiner) throw new Error('no users');
    const mark = await lastSeq();
    const run = await sync({ list_id: segment });
    const stayed = [...imported.filter((user) => user !== leaver), joiner];
    expect(await outcomes(run.runId, [...stayed, leaver])).toEqual(everyAdded(stayed));
    const leavers = await stack.db.sql<{ userId: string; outcome: string }[]>`
      select user_id as "userId", outcome from audience_sync.run_leavers where run_id = ${run.runId}`;
    expect(leavers).toEqual([{ userId: leaver.id, outcome: 'removed' }]);
    const status = await stack.call('GET', `/api/marketing/sync-users/${run.runId}`);
    expect(status.body.progress).toMatchObject({
      total: 250,
      processed: 250,
      added: 250,
      updated: 1,
      skipped: 0,
      failed: 0,
      removed: 1,
    });

    // The directory reads the contacts created since its last look (none; the import's it passed
    // over when the import ended), the joiner's import reads the newest page once; the renamed
    // member and the leaver are named by their emails, which Resend takes in place of ids.
    const { routes, polls } = withoutPolls(await routesSince(mark));
    expect(routes).toEqual(
      [
        'GET /contacts',
        'GET /contacts',
        'GET /contacts',
        `GET /segments/${segment}`,
        `PATCH /contacts/${renamed.email}`,
        `DELETE /contacts/${leaver.email}/segments/${segment}`,
        'POST /contacts/imports',
      ].sort(),
    );
    expect(polls).toBeGreaterThanOrEqual(1);

    const after = await contactsByEmail();
    expect(after.get(renamed.email)?.last_name).toBe('Renamed');
    expect(after.get(leaver.email)?.segment_ids).toEqual([]);
    const members = await emulatedContacts(stack.emulator, `&segment_id=${segment}`);
    expect(members.map((contact) => contact.email).sort()).toEqual(
      stayed.map((user) => user.email).sort(),
    );
  });

  /**
   * 250 members through an import; the oldest (on a page no run has read) leaves the list,
   * unsubscribes in Resend (no webhook tells) and comes back to the population.
   */
  async function memberLeftUnsubscribedAndBack(name: string) {
    const imported = await users.addMany(name.toLowerCase(), 250);
    const [returner] = imported;
    if (!returner) throw new Error('no users');
    const first = await bulkFirstSync(name, imported);
    const segment = first.listId;
    await stack.db.sql`update users set deleted_at = now() where id = ${returner.id}`;
    const left = await sync({ list_id: segment });
    const leavers = await stack.db.sql<{ userId: string; outcome: string }[]>`
      select user_id as "userId", outcome from audience_sync.run_leavers where run_id = ${left.runId}`;
    expect(leavers).toEqual([{ userId: returner.id, outcome: 'removed' }]);
    await fetch(`${stack.emulator.url}/_emulator/contacts/unsubscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: returner.email }),
    }).then((response) => expect(response.status).toBe(200));
    await stack.db.sql`update users set deleted_at = null where id = ${returner.id}`;
    return { imported, returner, segment };
  }

  it('never re-subscribes a contact the directory has not read: a member who left, unsubscribed and came back', async () => {
    const { imported, returner, segment } = await memberLeftUnsubscribedAndBack('Unread');
    const mark = await lastSeq();
    const back = await sync({ list_id: segment });
    // Its page unread, the directory does not know the contact: it is asked for by email, and
    // never created (a create of an existing contact re-subscribes it).
    const contact = (await contactsByEmail()).get(returner.email);
    expect(contact?.unsubscribed).toBe(true);
    expect(contact?.segment_ids).toEqual([]);
    const routes = await routesSince(mark);
    expect(routes.filter((route) => route === 'POST /contacts')).toEqual([]);
    expect(routes.filter((route) => route.includes(returner.email))).toEqual([
      `GET /contacts/${returner.email}`,
    ]);
    const others = imported.filter((user) => user !== returner);
    expect(await outcomes(back.runId, imported)).toEqual({
      ...everyAdded(others),
      [returner.id]: 'skipped:unsubscribed_in_platform',
    });
  });

  it('a dry run plans no create for a contact the directory has not read', async () => {
    const { segment } = await memberLeftUnsubscribedAndBack('Planned');
    // It plans every user: it reads the pages the directory passed over, not one email each.
    const dry = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      mode: 'mirror',
      list_id: segment,
      dry_run: true,
    });
    expect(dry.status).toBe(200);
    expect(dry.body.plan.create).toEqual({ count: 0, userIds: [] });
  });
});

describe('contacts an import made that no page has shown', () => {
  const directoryIdsOf = async (of: TestUser[]) =>
    new Map(
      (
        await stack.db.sql<{ emailHash: string; contactId: string }[]>`
          select email_hash as "emailHash", contact_id as "contactId"
          from audience_sync.contact_directory
          where email_hash = any(${of.map((user) => emailHash(user.email))}::text[])`
      ).map((row) => [row.emailHash, row.contactId]),
    );

  it('an email change of one of them takes its old contact out of the list', async () => {
    const imported = await users.addMany('moving', 250);
    const [mover] = imported;
    if (!mover) throw new Error('no users');
    const first = await bulkFirstSync('Moving', imported);
    const segment = first.listId;
    const oldId = (await contactsByEmail()).get(mover.email)?.id;
    // The oldest row of the import: below the one page the directory read after it.
    expect((await directoryIdsOf([mover])).size).toBe(0);

    const newEmail = `new.${mover.email}`;
    await stack.db.sql`update users set email = ${newEmail} where id = ${mover.id}`;
    const mark = await lastSeq();
    const run = await sync({ list_id: segment });
    expect(await outcomes(run.runId, imported)).toEqual(everyAdded(imported));
    const writes = (await routesSince(mark)).filter((route) => !route.startsWith('GET '));
    expect(writes).toEqual([
      `DELETE /contacts/${oldId}/segments/${segment}`,
      'POST /contacts/imports',
    ]);
    const after = await contactsByEmail();
    expect(after.get(mover.email)?.segment_ids).toEqual([]);
    expect(after.get(newEmail)?.segment_ids).toEqual([segment]);
  });

  it('narrows the unread range page by page, so a read cut short resumes where it stopped', async () => {
    const imported = await users.addMany('resumed', 250);
    const first = await bulkFirstSync('Resumed', imported);
    // The run's last import opens its range as the run ends: read it once the run has ended.
    await waitForRunEnd(stack, first.runId);
    const unread = async () =>
      stack.db.sql<{ account: string; after: string | null }[]>`
        select account, unread_after as after from audience_sync.contact_directory_state`;
    const [opened] = await unread();
    expect(opened?.after).toBeTruthy();
    const proxy = await startHoldingProxy();
    proxy.target = stack.emulator.url;
    try {
      const resend = createResendClient({
        apiKey: TEST_RESEND_KEY,
        baseUrl: proxy.url,
        gate: createConnectionGate(4),
        signal: new AbortController().signal,
        onAnswer: () => {},
      });
      const directory = createContactDirectory(stack.db.sql, resend, opened?.account ?? '');
      // Hold the range's second page: the first one read must already be off the range.
      let pagesSeen = 0;
      const second = proxy.hold(
        (request) =>
          request.method === 'GET' &&
          /^\/contacts\?.*after=/.test(request.path) &&
          ++pagesSeen === 2,
      );
      const reading = directory.readUnread();
      const [held] = await second.arrived;
      const cursor = new URL(held?.path ?? '', proxy.url).searchParams.get('after');
      expect(cursor).not.toBe(opened?.after);
      expect((await unread()).map((row) => row.after)).toEqual([cursor]);
      second.release();
      expect((await reading).pages).toBeGreaterThanOrEqual(2);
      expect((await unread()).map((row) => row.after)).toEqual([null]);
    } finally {
      await proxy.close();
    }
  });

  it('are named in the ledger from what the directory learned since, not by a look-up per member each run', async () => {
    const imported = await users.addMany('named', 250);
    const first = await bulkFirstSync('Named', imported);
    await waitForRunEnd(stack, first.runId);
    const list = { platform: 'resend', listId: first.listId };
    const quiet = await sync({ list_id: first.listId });
    await waitForRunEnd(stack, quiet.runId);
    const unnamed = async () =>
      (await ledgerOf(first.listId)).filter((row) => row.contactId === null).length;
    // The members below the page the directory read after the import are known by email only.
    expect(await unnamed()).toBeGreaterThan(0);

    const [state] = await stack.db.sql<{ account: string }[]>`
      select account from audience_sync.contact_directory_state`;
    const resend = createResendClient({
      apiKey: TEST_RESEND_KEY,
      baseUrl: stack.emulator.url,
      gate: createConnectionGate(4),
      signal: new AbortController().signal,
      onAnswer: () => {},
    });
    const directory = createContactDirectory(stack.db.sql, resend, state?.account ?? '');
    // What the naming asks the directory about, and what the directory answers it learned.
    const asked: string[] = [];
    const learned: string[] = [];
    const platform = {
      knownContacts: async (hashes: string[], options?: { onPlatform?: boolean }) => {
        asked.push(...hashes);
        return directory.lookupHashes(hashes, { readUnread: options?.onPlatform === true });
      },
      contactsLearnedSince: async (cursor: LearnedCursor, limit: number) => {
        const page = await directory.learnedSince(cursor, limit);
        learned.push(...page.contacts.map((contact) => contact.emailHash));
        return page;
      },
    };
    // The directory learned nothing since the run named what it knew: nothing to ask about.
    expect(await nameMembersKnownByEmail(stack.db.sql, platform, list)).toBe(0);
    expect(asked).toEqual([]);
    expect(learned).toEqual([]);

    // The reconciliation reads every page: the next naming names every member, once.
    await reconcile();
    const byEmail = await contactsByEmail();
    const before = await unnamed();
    const mark = await lastSeq();
    expect(await nameMembersKnownByEmail(stack.db.sql, platform, list)).toBe(before);
    expect(
      (await ledgerOf(first.listId)).map(({ userId, contactId }) => ({ userId, contactId })),
    ).toEqual(
      imported.map((user) => ({ userId: user.id, contactId: byEmail.get(user.email)?.id })),
    );
    asked.length = 0;
    learned.length = 0;
    expect(await nameMembersKnownByEmail(stack.db.sql, platform, list)).toBe(0);
    expect(asked).toEqual([]);
    expect(learned).toEqual([]);
    // Naming is Postgres only.
    expect(await routesSince(mark)).toEqual([]);
  });

  it('is read by one batch at a time: another waits and finds it read', async () => {
    const imported = await users.addMany('locked', 250);
    const first = await bulkFirstSync('Locked', imported);
    await waitForRunEnd(stack, first.runId);
    const [state] = await stack.db.sql<{ account: string; after: string | null }[]>`
      select account, unread_after as after from audience_sync.contact_directory_state`;
    expect(state?.after).toBeTruthy();
    const proxy = await startHoldingProxy();
    proxy.target = stack.emulator.url;
    try {
      const directoryOf = () =>
        createContactDirectory(
          stack.db.sql,
          createResendClient({
            apiKey: TEST_RESEND_KEY,
            baseUrl: proxy.url,
            gate: createConnectionGate(4),
            signal: new AbortController().signal,
            onAnswer: () => {},
          }),
          state?.account ?? '',
        );
      const rangePages = () =>
        proxy.seen.filter(
          (request) => request.method === 'GET' && /^\/contacts\?.*after=/.test(request.path),
        ).length;
      // Hold the first reader's first page of the range.
      const held = proxy.hold(
        (request) => request.method === 'GET' && /^\/contacts\?.*after=/.test(request.path),
      );
      const reading = directoryOf().readUnread();
      await held.arrived;
      const waiting = directoryOf().readUnread();
      // The second reader either asks Resend for the range too, or waits on the account's lock.
      const lockWaiters = async () =>
        (
          await stack.db.sql<{ count: number }[]>`
            select count(*)::int as count from pg_locks
            where locktype = 'advisory' and not granted`
        )[0]?.count ?? 0;
      await waitFor(async () => (await lockWaiters()) > 0 || rangePages() > 1, {
        what: 'the second reader to wait or to read',
      });
      expect(rangePages()).toBe(1);
      expect(await lockWaiters()).toBe(1);
      held.release();
      const read = await reading;
      expect(read.pages).toBeGreaterThanOrEqual(2);
      expect(read.pages).toBe(rangePages());
      // It found the range closed: no page of its own.
      expect(await waiting).toEqual({ pages: 0 });
      expect(rangePages()).toBe(read.pages);
      const [after] = await stack.db.sql<{ after: string | null }[]>`
        select unread_after as after from audience_sync.contact_directory_state`;
      expect(after?.after).toBeNull();
    } finally {
      await proxy.close();
    }
  });

  it('are read by the daily reconciliation', async () => {
    const imported = await users.addMany('reconciled', 250);
    await bulkFirstSync('Reconciled', imported);
    const byEmail = await contactsByEmail();
    const expected = new Map(
      imported.map((user) => [emailHash(user.email), byEmail.get(user.email)?.id]),
    );
    expect((await directoryIdsOf(imported)).size).toBeLessThan(imported.length);

    await reconcile();
    expect(await directoryIdsOf(imported)).toEqual(expected);
    const [state] = await stack.db.sql<{ unread: string | null }[]>`
      select unread_after as unread from audience_sync.contact_directory_state`;
    expect(state?.unread).toBeNull();
  });
});
