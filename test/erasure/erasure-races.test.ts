import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { createUsersTable } from '../../db/demo-users.js';
import { newWebhookSecret } from '../../emulator/resend/webhooks.js';
import {
  type AppStack,
  emulatedContacts,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { type HoldingProxy, startHoldingProxy } from '../support/holding-proxy.js';
import { schemaColumnsHolding } from '../support/schema-search.js';
import { uniqueName, waitFor } from '../support/stack.js';

/**
 * An erasure meeting work already under way: a sync whose create is on its way to Resend (or
 * still waiting for its turn), a Contact Import in flight, and the `contact.deleted` webhook of
 * the erasure's own delete arriving while the erasure wipes the user's rows. The worker reaches
 * Resend, and Resend's webhooks reach the API, through a proxy that holds chosen requests, so each
 * meeting happens exactly, every time.
 */

const SECRET = newWebhookSecret();
let stack: AppStack;
/** worker → Resend emulator */
let resend: HoldingProxy;
/** Resend emulator's webhooks → API */
let webhooks: HoldingProxy;
/** Far from anything else the schema holds, so a search for one finds only that user. */
let nextUserId = 8_400_000_001;

beforeAll(async () => {
  resend = await startHoldingProxy();
  webhooks = await startHoldingProxy();
  stack = await startAppStack({
    emulator: { rateLimit: 200, webhookRetryDelaysMs: [100, 200, 400] },
    // Two requests in flight at most (a quarter of the limit, at least two).
    worker: { RESEND_BASE_URL: resend.url, RESEND_BULK: 'auto', RESEND_RATE_LIMIT: '8' },
    api: { RESEND_WEBHOOK_SECRET: SECRET },
    beforeStart: (db) => createUsersTable(db.sql),
  });
  resend.target = stack.emulator.url;
  webhooks.target = stack.api.url;
  await admin('POST', '/webhooks', { url: `${webhooks.url}/webhooks/resend`, secret: SECRET });
});

afterAll(async () => {
  await stack?.stop();
  await resend?.close();
  await webhooks?.close();
});

interface TestUser {
  id: string;
  email: string;
}

async function addUsers(prefix: string, count: number): Promise<TestUser[]> {
  const users: TestUser[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = nextUserId++;
    const email = `${prefix}.${uniqueName('u')}@example.com`;
    await stack.db.sql`
      insert into users (id, email, first_name, last_name, full_name, last_active_at)
      values (${id}, ${email}, 'Given', 'Family', 'Given Family', now())`;
    users.push({ id: String(id), email });
  }
  return users;
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${stack.emulator.url}/_emulator${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`emulator admin ${method} ${path} answered ${response.status}`);
  return response.json();
}

async function startSync(listName: string, users: TestUser[]): Promise<string> {
  const started = await stack.call(
    'POST',
    '/api/marketing/sync',
    {
      platform: 'resend',
      list_name: listName,
      sync_type: 'specific',
      user_ids: users.map((user) => user.id),
    },
    { prefer: 'respond-async' },
  );
  expect(started.status).toBe(202);
  return started.body.runId as string;
}

async function erase(users: TestUser[]): Promise<string> {
  const started = await stack.call('POST', '/api/marketing/erasures', {
    user_ids: users.map((user) => user.id),
  });
  expect(started.status).toBe(202);
  return started.body.erasureId as string;
}

const erasureEnded = (erasureId: string) =>
  waitFor(
    async () => {
      const status = await stack.call('GET', `/api/marketing/erasures/${erasureId}`);
      return status.status === 200 && status.body.status !== 'running' && status.body;
    },
    { timeoutMs: 90_000, intervalMs: 100, what: `erasure ${erasureId} to end` },
  );

const contactEmails = async () =>
  new Set((await emulatedContacts(stack.emulator)).map((contact) => contact.email.toLowerCase()));

const outcomesOf = (runId: string) =>
  stack.db.sql`
    select user_id, outcome, reason from audience_sync.run_users
    where run_id = ${runId} order by user_id`;

/** Whether a session of the database waits for a lock in a statement mentioning `text`. */
const lockWaitIn = async (text: string, waitEvent: string | null = null): Promise<boolean> => {
  const [row] = await stack.db.sql`
    select pid from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'
      and (${waitEvent}::text is null or wait_event = ${waitEvent}::text)
      and strpos(query, ${text}) > 0`;
  return row !== undefined;
};

const isCreate = (request: { method: string; path: string }) =>
  request.method === 'POST' && request.path === '/contacts';

describe('an erasure meeting a sync', () => {
  it('a create in flight is undone, and a create still waiting is never sent', async () => {
    // This account cannot import: the run creates contacts one by one.
    await admin('PUT', '/config', { importRefusal: 403 });
    const [first, inFlight, waiting] = await addUsers('race', 3);
    if (!first || !inFlight || !waiting) throw new Error('seeding failed');
    // The first two creates reach the proxy and wait there; the third waits for a place.
    const creates = resend.hold(isCreate, 2);
    const runId = await startSync('Race per contact', [first, inFlight, waiting]);
    const held = await creates.arrived;
    expect(held.map((request) => JSON.parse(request.body).email).sort()).toEqual(
      [first.email, inFlight.email].sort(),
    );

    const erasureId = await erase([inFlight, waiting]);
    expect(await erasureEnded(erasureId)).toMatchObject({
      status: 'completed',
      progress: { requested: 2, erased: 2, failed: 0, pending: 0 },
    });
    creates.release();
    const finished = await waitForRunEnd(stack, runId, 90_000);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: { processed: 3, added: 1, skipped: 2, failed: 0 },
    });
    expect(await outcomesOf(runId)).toEqual([
      { user_id: first.id, outcome: 'added', reason: null },
      { user_id: inFlight.id, outcome: 'skipped', reason: 'deleted_in_platform' },
      { user_id: waiting.id, outcome: 'skipped', reason: 'deleted_in_platform' },
    ]);
    const left = await contactEmails();
    expect([first, inFlight, waiting].filter((user) => left.has(user.email))).toEqual([first]);
    // The create still waiting for its turn was never sent.
    const sent = resend.seen.filter(isCreate).map((request) => JSON.parse(request.body).email);
    expect(sent.filter((email) => email === waiting.email)).toEqual([]);
    // Nothing names them but the tombstone and the run's own records: the ids it was asked for,
    // the skips, and the checkpoints naming the batch's last user.
    expect(Object.fromEntries(await schemaColumnsHolding(stack.db.sql, inFlight.id))).toEqual({
      'erasure_tombstones.user_id': 1,
      'run_requested_users.user_id': 1,
      'run_users.user_id': 1,
    });
    expect(Object.fromEntries(await schemaColumnsHolding(stack.db.sql, waiting.id))).toEqual({
      'bulk_chunks.cursor_after': 1,
      'erasure_tombstones.user_id': 1,
      'run_batches.cursor_after': 1,
      'run_requested_users.user_id': 1,
      'run_users.user_id': 1,
    });
  });

  it('a contact import in flight is undone for the erased user', async () => {
    await admin('PUT', '/config', { importRefusal: null });
    await stack.db.sql`delete from audience_sync.bulk_unavailable`;
    const [kept, erased] = await addUsers('import', 2);
    if (!kept || !erased) throw new Error('seeding failed');
    const imports = resend.hold(
      (request) => request.method === 'POST' && request.path === '/contacts/imports',
    );
    const runId = await startSync('Race import', [kept, erased]);
    await imports.arrived;

    const erasureId = await erase([erased]);
    expect(await erasureEnded(erasureId)).toMatchObject({
      status: 'completed',
      progress: { requested: 1, erased: 1, failed: 0, pending: 0 },
    });
    imports.release();
    const finished = await waitForRunEnd(stack, runId, 90_000);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: { processed: 2, added: 1, skipped: 1, failed: 0 },
    });
    expect(await outcomesOf(runId)).toEqual([
      { user_id: kept.id, outcome: 'added', reason: null },
      { user_id: erased.id, outcome: 'skipped', reason: 'deleted_in_platform' },
    ]);
    const left = await contactEmails();
    expect(left.has(kept.email)).toBe(true);
    expect(left.has(erased.email)).toBe(false);
    // The run's own records of the user it was asked for: the id, the batch pass's claim of the
    // email and the skip, and the checkpoints naming the batch's last user.
    expect(Object.fromEntries(await schemaColumnsHolding(stack.db.sql, erased.id))).toEqual({
      'bulk_chunks.cursor_after': 1,
      'erasure_tombstones.user_id': 1,
      'run_batches.cursor_after': 1,
      'run_emails.user_id': 1,
      'run_requested_users.user_id': 1,
      'run_users.user_id': 1,
    });
    // The import sent the kept user's email: the user's history of sent emails has it.
    const sentHashes = await stack.db.sql`
      select email_hash from audience_sync.sent_email_hashes where user_id = ${kept.id}`;
    expect(sentHashes).toEqual([{ email_hash: emailHash(kept.email) }]);
  });
});

describe("an erasure meeting its own delete's webhook", () => {
  it('contact.deleted arriving while the rows are wiped names nobody in the opt-outs feed', async () => {
    const [user] = await addUsers('webhook', 1);
    if (!user) throw new Error('seeding failed');
    const runId = await startSync('Race webhook', [user]);
    expect(await waitForRunEnd(stack, runId, 90_000)).toMatchObject({
      status: 'completed',
      progress: { added: 1 },
    });

    // The wipe of the user's rows waits on a table it deletes from after the ledger and the
    // runs' emails, which it has deleted from by then (not committed yet).
    const blocker = await stack.db.sql.reserve();
    try {
      await blocker`begin`;
      await blocker`lock table audience_sync.run_leavers in access exclusive mode`;
      const deletion = webhooks.hold((request) => request.body.includes('"contact.deleted"'));
      const erasureId = await erase([user]);
      await deletion.arrived;
      await waitFor(() => lockWaitIn('run_leavers'), { what: 'the wipe to wait on run_leavers' });
      let answered = false;
      void deletion.answered.then(() => {
        answered = true;
      });
      deletion.release();
      // The delivery is answered, or waits behind the wipe: for the opt-outs feed's lock the
      // wipe may hold, or for the ledger row it deletes (the ledger knows the imported
      // contact's id, so the delivery's removal by that id meets the wipe's row).
      await waitFor(
        async () =>
          answered ||
          (await lockWaitIn('pg_advisory_xact_lock', 'advisory')) ||
          (await lockWaitIn('delete from audience_sync.list_members', 'transactionid')),
        {
          what: 'the delivery to be answered or to wait for the feed',
        },
      );
      await blocker`commit`;
      expect(await erasureEnded(erasureId)).toMatchObject({
        status: 'completed',
        progress: { requested: 1, erased: 1, contactsDeleted: 1, failed: 0, pending: 0 },
      });
      await deletion.answered;
    } finally {
      await blocker`rollback`.catch(() => undefined);
      blocker.release();
    }
    expect(
      await stack.db.sql`
      select origin from audience_sync.opt_outs where user_id = ${user.id}`,
    ).toEqual([]);
    const feed = await stack.call('GET', '/api/marketing/opt-outs?limit=1000');
    expect(
      feed.body.data
        .filter((entry: { userId: string }) => entry.userId === user.id)
        .map((entry: { origin: string }) => entry.origin),
    ).toEqual(['erased']);
    expect(Object.fromEntries(await schemaColumnsHolding(stack.db.sql, user.id))).toEqual({
      'erasure_tombstones.user_id': 1,
    });
  });
});
