import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import {
  type AppStack,
  ELIGIBLE_SQL,
  type EmulatedContact,
  emulatedContacts,
  requestLog,
  seedEmulatorContacts,
  setEmulatorConfig,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { exportRunHistories, historyText } from '../support/histories.js';
import { waitFor } from '../support/stack.js';
import { killableWorkers } from '../support/worker-processes.js';

/**
 * A first sync of 3,000 users with RESEND_BULK=auto: contacts new to Resend are created by a
 * Contact Import, contacts that exist join one by one, and rows the import skipped or failed are
 * handled per contact. The worker is killed while the import runs; the next one waits on the same
 * import instead of importing again.
 */

let stack: AppStack;
const workers = killableWorkers();

beforeAll(async () => {
  stack = await startAppStack({
    users: 3000,
    mix: 'demo',
    emulator: { rateLimit: 100 },
    worker: { RESEND_BULK: 'auto' },
    inProcessWorker: false,
  });
});

afterAll(async () => {
  await workers.stopAll();
  await stack?.stop();
});

interface UserRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
}

const setConfig = (config: Record<string, unknown>) => setEmulatorConfig(stack.emulator, config);

const eligibleUsers = (extra: string) =>
  stack.db.sql.unsafe<UserRow[]>(
    `select distinct on (lower(btrim(email))) id::text, lower(btrim(email)) as email,
       first_name, last_name
     from users where ${ELIGIBLE_SQL} and ${extra} order by lower(btrim(email)), id`,
  );

const chunkStatus = async (runId: string): Promise<string | undefined> => {
  const [row] = await stack.db.sql<{ status: string }[]>`
    select status from audience_sync.bulk_chunks where run_id = ${runId} and chunk_no = 1`;
  return row?.status;
};

describe('a bulk first sync', () => {
  it('puts everyone in the right state through one import, across a worker killed mid-import', async () => {
    // Emails Resend's create refuses although they look like addresses to the users contract.
    await stack.db.sql`
      insert into users (id, email, first_name, last_name, full_name, last_active_at)
      values (90001, 'strict+!@example.com', 'Strict', 'One', 'Strict One', now()),
             (90002, 'other+!@example.com', 'Strict', 'Two', 'Strict Two', now())`;
    // Contacts already in Resend: every third unsubscribed, every fifth renamed there.
    const existing = (await eligibleUsers('id <= 400')).filter((_, index) => index % 2 === 0);
    const seeded = existing.map((user, index) => ({
      email: user.email,
      first_name: index % 5 === 0 ? `Renamed ${index}` : user.first_name,
      last_name: user.last_name,
      unsubscribed: index % 3 === 0,
    }));
    const seededIds = await seedEmulatorContacts(stack.emulator, seeded);
    // Rows the import fails or skips without a reason; Resend then creates them one by one.
    const failedRows = (await eligibleUsers('id between 1000 and 1100')).slice(0, 15);
    const skippedRows = (await eligibleUsers('id between 2000 and 2100')).slice(0, 10);
    await setConfig({
      importQueuedMs: 12_000,
      importFailEmails: failedRows.map((user) => user.email),
      importSkipEmails: skippedRows.map((user) => user.email),
    });

    const first = workers.start(stack.workerConfig);
    const started = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Bulk first sync' },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;

    // The import id is stored, and the import is still queued: kill the worker now.
    await waitFor(async () => (await chunkStatus(runId)) === 'importing', {
      timeoutMs: 120_000,
      what: 'the chunk to be importing',
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    await setConfig({ importQueuedMs: 25 });
    workers.start(stack.workerConfig);

    const finished = await waitForRunEnd(stack, runId, 300_000);
    expect(finished.status).toBe('completed');
    expect(finished.bulk).toEqual({
      mode: 'imports',
      message: 'New contacts are created by bulk imports',
    });
    const segmentId: string = finished.audience.id;

    // One import for the one chunk, whatever the crash.
    const log = await requestLog(stack.emulator);
    const imports = log.filter(
      (entry) => entry.method === 'POST' && entry.path === '/contacts/imports',
    );
    expect(imports.map((entry) => entry.status)).toEqual([201]);

    // Every eligible email is one contact in the segment, except those Resend refuses and those
    // unsubscribed in Resend (skipped as unsubscribed_in_platform).
    const strict = new Set(['strict+!@example.com', 'other+!@example.com']);
    const unsubscribedThere = new Set(
      seeded.filter((contact) => contact.unsubscribed).map((contact) => contact.email),
    );
    const eligible = await eligibleUsers('true');
    const expectedMembers = eligible.filter(
      (user) => !strict.has(user.email) && !unsubscribedThere.has(user.email),
    );
    const members = await emulatedContacts(stack.emulator, `&segment_id=${segmentId}`);
    expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
      expectedMembers.map((user) => user.email).sort(),
    );
    const everyone = await emulatedContacts(stack.emulator);
    expect(everyone).toHaveLength(expectedMembers.length + unsubscribedThere.size);

    // Existing contacts kept their id, subscription and names: none re-subscribed, none created.
    const byEmail = new Map<string, EmulatedContact>(
      everyone.map((contact) => [contact.email.toLowerCase(), contact]),
    );
    seeded.forEach((contact, index) => {
      const now = byEmail.get(contact.email);
      expect(now?.id).toBe(seededIds[index]);
      expect(now?.unsubscribed).toBe(contact.unsubscribed);
      expect([now?.first_name, now?.last_name]).toEqual([contact.first_name, contact.last_name]);
      expect(now?.segment_ids.includes(segmentId)).toBe(!contact.unsubscribed);
    });
    const skippedThere = await stack.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.run_users
      where run_id = ${runId} and reason = 'unsubscribed_in_platform'`;
    expect(skippedThere.map((row) => row.userId).sort()).toEqual(
      existing
        .filter((user) => unsubscribedThere.has(user.email))
        .map((user) => user.id)
        .sort(),
    );
    const creates = log.filter((entry) => entry.method === 'POST' && entry.path === '/contacts');
    const createdOneByOne = creates.map((entry) => entry.key?.toLowerCase() ?? '');
    // Only the rows the import did not create went one by one, each once.
    expect([...createdOneByOne].sort()).toEqual(
      [...failedRows, ...skippedRows]
        .map((user) => user.email)
        .concat([...strict])
        .sort(),
    );

    // New contacts are subscribed and carry their names.
    const seededEmails = new Set(seeded.map((contact) => contact.email));
    for (const user of expectedMembers.filter((row) => !seededEmails.has(row.email))) {
      const contact = byEmail.get(user.email);
      expect(contact?.unsubscribed).toBe(false);
      expect([contact?.first_name, contact?.last_name]).toEqual([user.first_name, user.last_name]);
    }

    // Counts add up, and the refused ones are failed with Resend's reason.
    const [population] = await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from users where deleted_at is null`;
    const progress = finished.progress;
    expect(progress.total).toBe(population?.count);
    expect(progress.processed).toBe(population?.count);
    expect(progress.added + progress.skipped + progress.failed).toBe(progress.processed);
    expect(progress.added).toBe(expectedMembers.length);
    const refused = await stack.db.sql<{ userId: string; reason: string }[]>`
      select user_id as "userId", reason from audience_sync.run_users
      where run_id = ${runId} and reason like 'rejected_by_platform%' order by user_id`;
    expect(refused).toEqual([
      { userId: '90001', reason: 'rejected_by_platform:validation_error' },
      { userId: '90002', reason: 'rejected_by_platform:validation_error' },
    ]);

    // The imported contacts are in the ledger with their ids and emails: the import did not
    // create every row, so the directory listed the newest contacts after it, and the batches
    // took the ids from there (no request per contact).
    const imported = expectedMembers.filter(
      (user) => !seededEmails.has(user.email) && !createdOneByOne.includes(user.email),
    );
    expect(imported.length).toBeGreaterThan(2000);
    const ledger = await stack.db.sql<
      { userId: string; contactId: string | null; emailHash: string | null }[]
    >`
      select user_id as "userId", contact_id as "contactId", email_hash as "emailHash"
      from audience_sync.list_members
      where list_id = ${segmentId} and user_id in ${stack.db.sql(imported.map((user) => user.id))}
      order by user_id`;
    expect(ledger).toEqual(
      imported
        .map((user) => ({
          userId: user.id,
          contactId: byEmail.get(user.email)?.id,
          emailHash: emailHash(user.email),
        }))
        .sort((a, b) => a.userId.localeCompare(b.userId)),
    );

    // The imported contacts' names were recorded as sent: a later 'new' run patches exactly the
    // imported users renamed since, by their contact ids, and joins nothing. The refused ones are
    // tried again (an import, then one by one), as every 'new' run does.
    const renamed = imported.slice(0, 2);
    await stack.db.sql`
      update users set first_name = 'Renamed after import'
      where id in ${stack.db.sql(renamed.map((user) => user.id))}`;
    const mark = (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;
    const next = await stack.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_id: segmentId, sync_type: 'new' },
      { prefer: 'respond-async' },
    );
    expect(next.status).toBe(202);
    const nextRun = await waitForRunEnd(stack, next.body.runId, 240_000);
    expect(nextRun.progress).toMatchObject({ added: 2, updated: 2 });
    const addedAgain = await stack.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.run_users
      where run_id = ${next.body.runId} and outcome = 'added'`;
    expect(addedAgain.map((row) => row.userId).sort()).toEqual(
      renamed.map((user) => user.id).sort(),
    );
    const writes = (await requestLog(stack.emulator, `&since_seq=${mark}`)).filter((entry) =>
      ['POST', 'PATCH', 'DELETE'].includes(entry.method),
    );
    expect(
      writes
        .filter((entry) => entry.method === 'PATCH')
        .map((entry) => entry.path)
        .sort(),
    ).toEqual(renamed.map((user) => `/contacts/${byEmail.get(user.email)?.id}`).sort());
    expect(
      writes
        .filter((entry) => entry.method !== 'PATCH')
        .map((entry) => `${entry.method} ${entry.path} ${entry.key?.toLowerCase()}`)
        .sort(),
    ).toEqual(
      [
        ...[...strict].map((email) => `POST /contacts ${email}`),
        'POST /contacts/imports undefined',
      ].sort(),
    );

    // No email or name in the run's history.
    const text = historyText(await exportRunHistories(stack.client, runId));
    expect(text).toContain(runId);
    const users = await stack.db.sql<{ email: string; full_name: string | null }[]>`
      select email, full_name from users where email like '%@%'`;
    const leaks = users.filter(
      (user) =>
        text.includes(user.email) ||
        text.includes(user.email.toLowerCase()) ||
        (user.full_name !== null && text.includes(user.full_name)),
    );
    expect(leaks).toEqual([]);
  }, 420_000);
});
