import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { createUsersTable } from '../../db/demo-users.js';
import { newWebhookSecret, signWebhook } from '../../emulator/resend/webhooks.js';
import {
  type AppStack,
  emulatedContacts,
  requestLog,
  startAppStack,
} from '../support/app-stack.js';
import { exportRunHistories, historyText } from '../support/histories.js';
import { uniqueName, waitFor } from '../support/stack.js';
import { outcomesOf, type TestUser, testUsers } from '../support/test-users.js';

/**
 * Consent made in Resend flows back: unsubscribes, deletions and suppressions reach the service
 * by signed webhooks (or by the directory's own reading of the contact list), later syncs skip
 * those users with the platform's reason and never re-create a deleted contact, and the opt-outs
 * feed names them.
 */

const SECRET = newWebhookSecret();
let stack: AppStack;
let webhookUrl: string;
const users = testUsers(() => stack.db.sql);
const addUsers = users.addMany;

beforeAll(async () => {
  stack = await startAppStack({
    emulator: { rateLimit: 300, webhookRetryDelaysMs: [100, 200, 400] },
    api: { RESEND_WEBHOOK_SECRET: SECRET },
  });
  await createUsersTable(stack.db.sql);
  webhookUrl = `${stack.api.url}/webhooks/resend`;
});

afterAll(async () => {
  await stack?.stop();
});

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${stack.emulator.url}/_emulator${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`emulator admin ${method} ${path} answered ${response.status}`);
  return response.json();
}

interface Delivery {
  id: string;
  type: string;
  payload: string;
  state: string;
  statuses: number[];
}

const deliveries = async () =>
  ((await admin('GET', '/webhooks/deliveries')) as { deliveries: Delivery[] }).deliveries;

/** Waits until the emulator delivered an event of this type about this email (answered 2xx). */
async function delivered(type: string, email: string): Promise<Delivery> {
  return waitFor(
    async () =>
      (await deliveries()).find(
        (delivery) =>
          delivery.type === type &&
          delivery.state === 'delivered' &&
          (JSON.parse(delivery.payload) as { data: { email: string } }).data.email === email,
      ),
    { timeoutMs: 20_000, what: `${type} delivered` },
  );
}

async function sync(body: Record<string, unknown>): Promise<{ runId: string; listId: string }> {
  const answer = await stack.call('POST', '/api/marketing/sync', { platform: 'resend', ...body });
  expect(answer.status).toBe(200);
  return { runId: answer.body.runId, listId: answer.body.list_id };
}

const outcomes = (runId: string, of: TestUser[]) => outcomesOf(stack.db.sql, runId, of);

async function contactOf(email: string) {
  return (await emulatedContacts(stack.emulator)).find((contact) => contact.email === email);
}

/** The feed, read page by page from the start, for these users. */
async function optOutsOf(users: TestUser[]): Promise<{ userId: string; origin: string }[]> {
  const ids = new Set(users.map((user) => user.id));
  const found: { userId: string; origin: string }[] = [];
  let after = '0';
  for (;;) {
    const page = await stack.call('GET', `/api/marketing/opt-outs?after=${after}&limit=2`);
    expect(page.status).toBe(200);
    for (const entry of page.body.data) {
      expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
      if (ids.has(entry.userId)) found.push({ userId: entry.userId, origin: entry.origin });
    }
    if (page.body.data.length === 0) {
      expect(page.body.next).toBe(after);
      return found;
    }
    after = page.body.next;
  }
}

async function consentRow(email: string) {
  const rows = await stack.db.sql<
    { unsubscribed: boolean; deleted: boolean; suppressed: boolean }[]
  >`
    select unsubscribed, deleted_at is not null as deleted, suppressed_at is not null as suppressed
    from audience_sync.platform_consent where email_hash = ${emailHash(email)}`;
  return rows;
}

/** Posts a delivery to the API as Resend would, signed with `secret` at `timestamp`. */
async function post(payload: string, options: { id: string; timestamp: number; secret?: string }) {
  const response = await fetch(webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'svix-id': options.id,
      'svix-timestamp': String(options.timestamp),
      'svix-signature': signWebhook(
        options.secret ?? SECRET,
        options.id,
        options.timestamp,
        payload,
      ),
    },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('with webhooks on', () => {
  beforeAll(async () => {
    await admin('DELETE', '/webhooks');
    await admin('POST', '/webhooks', { url: webhookUrl, secret: SECRET });
  });

  it('an unsubscribe in Resend is recorded from its signed webhook, later syncs skip the user, and the feed names them', async () => {
    const [ann, bob] = await addUsers('unsub', 2);
    if (!ann || !bob) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Before') });
    expect(await outcomes(first.runId, [ann, bob])).toEqual({
      [ann.id]: 'added',
      [bob.id]: 'added',
    });

    await admin('POST', '/contacts/unsubscribe', { email: ann.email });
    const delivery = await delivered('contact.updated', ann.email);
    expect(delivery.statuses).toEqual([200]);
    expect(await consentRow(ann.email)).toEqual([
      { unsubscribed: true, deleted: false, suppressed: false },
    ]);
    const [processed] = await stack.db.sql`
      select svix_id from audience_sync.webhook_deliveries where svix_id = ${delivery.id}`;
    expect(processed?.svix_id).toBe(delivery.id);

    const second = await sync({ list_name: uniqueName('After') });
    expect(await outcomes(second.runId, [ann, bob])).toEqual({
      [ann.id]: 'skipped:unsubscribed_in_platform',
      [bob.id]: 'added',
    });
    const annContact = await contactOf(ann.email);
    expect(annContact?.unsubscribed).toBe(true);
    expect(annContact?.segment_ids).toEqual([first.listId]);
    expect((await contactOf(bob.email))?.segment_ids.sort()).toEqual(
      [first.listId, second.listId].sort(),
    );
    expect(await optOutsOf([ann, bob])).toEqual([{ userId: ann.id, origin: 'unsubscribed' }]);

    // The person subscribes again from the preference page: the record is lifted.
    await admin('POST', '/contacts/resubscribe', { email: ann.email });
    await delivered('contact.updated', ann.email).then(() =>
      waitFor(async () => (await consentRow(ann.email))[0]?.unsubscribed === false, {
        what: 'the unsubscribe lifted',
      }),
    );
    const third = await sync({ list_name: uniqueName('Resubscribed') });
    expect(await outcomes(third.runId, [ann])).toEqual({ [ann.id]: 'added' });
    expect((await contactOf(ann.email))?.unsubscribed).toBe(false);

    const text = historyText([
      ...(await exportRunHistories(stack.client, first.runId)),
      ...(await exportRunHistories(stack.client, second.runId)),
    ]);
    for (const user of [ann, bob]) expect(text).not.toContain(user.email);
    expect(text).not.toContain('Given');
  });

  it('a contact deleted in Resend is never re-created by all, new or a mirror run, and is skipped as deleted_in_platform', async () => {
    const [dan] = await addUsers('deleted', 1);
    if (!dan) throw new Error('no user');
    const first = await sync({ list_name: uniqueName('Deleted later') });
    expect(await outcomes(first.runId, [dan])).toEqual({ [dan.id]: 'added' });

    await admin('POST', '/contacts/delete', { email: dan.email });
    await delivered('contact.deleted', dan.email);
    expect(await consentRow(dan.email)).toEqual([
      { unsubscribed: false, deleted: true, suppressed: false },
    ]);
    const before = (await requestLog(stack.emulator, '&method=POST&path_prefix=/contacts')).length;

    const all = await sync({ list_name: uniqueName('All after delete') });
    const fresh = await sync({ list_name: uniqueName('New after delete'), sync_type: 'new' });
    const again = await sync({ list_id: first.listId, sync_type: 'all' });
    const mirror = await sync({ list_id: first.listId, mode: 'mirror' });
    for (const run of [all, fresh, again, mirror]) {
      expect(await outcomes(run.runId, [dan])).toEqual({ [dan.id]: 'skipped:deleted_in_platform' });
    }
    expect(await contactOf(dan.email)).toBeUndefined();
    const writes = (await requestLog(stack.emulator, '&method=POST&path_prefix=/contacts')).slice(
      before,
    );
    expect(writes.filter((entry) => entry.key?.toLowerCase() === dan.email)).toEqual([]);
    expect(await optOutsOf([dan])).toEqual([{ userId: dan.id, origin: 'deleted' }]);

    // The app's word that dan consented again: the next run creates a new contact for him.
    const lifted = await stack.call('POST', `/api/marketing/opt-outs/${dan.id}/lift`);
    expect(lifted.body).toEqual({ success: true, userId: dan.id, lifted: 1 });
    const back = await sync({ list_id: first.listId });
    expect(await outcomes(back.runId, [dan])).toEqual({ [dan.id]: 'added' });
    expect(await contactOf(dan.email)).toMatchObject({
      unsubscribed: false,
      segment_ids: [first.listId],
    });
    expect(await optOutsOf([dan])).toEqual([
      { userId: dan.id, origin: 'deleted' },
      { userId: dan.id, origin: 'lifted' },
    ]);
  });

  it('a suppressed email (a bounce) is skipped as suppressed and never becomes a contact', async () => {
    const [eve, fay] = await addUsers('suppressed', 2);
    if (!eve || !fay) throw new Error('no users');
    await admin('POST', '/suppressions', { email: eve.email, origin: 'bounce' });
    await delivered('suppression.added', eve.email);
    const run = await sync({ list_name: uniqueName('Suppressed') });
    expect(await outcomes(run.runId, [eve, fay])).toEqual({
      [eve.id]: 'skipped:suppressed',
      [fay.id]: 'added',
    });
    expect(await contactOf(eve.email)).toBeUndefined();
    expect(await optOutsOf([eve, fay])).toEqual([{ userId: eve.id, origin: 'suppressed' }]);
  });

  it('a forged, a stale and an unsigned delivery get 401 and change nothing; a replayed one is processed once', async () => {
    const [gus] = await addUsers('forged', 1);
    if (!gus) throw new Error('no user');
    const run = await sync({ list_name: uniqueName('Forged') });
    expect(await outcomes(run.runId, [gus])).toEqual({ [gus.id]: 'added' });
    const contact = await contactOf(gus.email);
    const payload = JSON.stringify({
      type: 'contact.updated',
      created_at: new Date().toISOString(),
      data: {
        id: contact?.id,
        segment_ids: [],
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
        email: gus.email,
        unsubscribed: true,
      },
    });
    const unauthorised = { success: false, error: { code: 'invalid_webhook_signature' } };
    const forged = await post(payload, {
      id: 'msg_forged',
      timestamp: nowSeconds(),
      secret: newWebhookSecret(),
    });
    const stale = await post(payload, { id: 'msg_stale', timestamp: nowSeconds() - 6 * 60 });
    const unsigned = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    });
    for (const answer of [forged, stale]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject(unauthorised);
    }
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject(unauthorised);
    expect(await consentRow(gus.email)).toEqual([]);
    const kept = await stack.db.sql`
      select svix_id from audience_sync.webhook_deliveries
      where svix_id in ('msg_forged', 'msg_stale')`;
    expect(kept).toEqual([]);

    // Within the 5 minutes, a delivery counts; the same id again changes nothing.
    const late = await post(payload, { id: 'msg_late', timestamp: nowSeconds() - 4 * 60 });
    expect(late).toEqual({ status: 200, body: { success: true, processed: true } });
    const replayed = await post(payload, { id: 'msg_late', timestamp: nowSeconds() });
    expect(replayed).toEqual({ status: 200, body: { success: true, processed: false } });
    expect(await consentRow(gus.email)).toEqual([
      { unsubscribed: true, deleted: false, suppressed: false },
    ]);
    expect(await optOutsOf([gus])).toEqual([{ userId: gus.id, origin: 'unsubscribed' }]);

    // Resend's own redelivery of a real message (same svix-id, signed anew) is processed once.
    const [hal] = await addUsers('replayed', 1);
    if (!hal) throw new Error('no user');
    await sync({ list_name: uniqueName('Replayed') });
    await admin('POST', '/contacts/unsubscribe', { email: hal.email });
    const delivery = await delivered('contact.updated', hal.email);
    await admin('POST', '/webhooks/replay', { id: delivery.id });
    await waitFor(
      async () =>
        (await deliveries()).find((d) => d.id === delivery.id && d.statuses.length === 2 && d),
      { what: 'the replay answered' },
    );
    expect((await deliveries()).find((d) => d.id === delivery.id)?.statuses).toEqual([200, 200]);
    expect(await optOutsOf([hal])).toEqual([{ userId: hal.id, origin: 'unsubscribed' }]);
  });
  it('two deliveries of one unsubscribe at once are one feed entry, and a late resubscribe older than it lifts nothing', async () => {
    const users = await addUsers('twice', 6);
    const run = await sync({ list_name: uniqueName('Twice') });
    const contacts = new Map(
      (await emulatedContacts(stack.emulator)).map((contact) => [contact.email, contact.id]),
    );
    const event = (user: TestUser, unsubscribed: boolean, at: Date) =>
      JSON.stringify({
        type: 'contact.updated',
        created_at: at.toISOString(),
        data: {
          id: contacts.get(user.email),
          segment_ids: [run.listId],
          created_at: at.toISOString(),
          updated_at: at.toISOString(),
          email: user.email,
          unsubscribed,
        },
      });
    // Each unsubscribes in Resend (which sends its delivery), and two more deliveries of the same
    // fact come at once, as Resend sends for a contact updated twice.
    for (const user of users) await admin('POST', '/contacts/unsubscribe', { email: user.email });
    const unsubscribedAt = new Date();
    const answers = await Promise.all(
      users.flatMap((user) =>
        ['a', 'b'].map((copy) =>
          post(event(user, true, unsubscribedAt), {
            id: `msg_twice_${copy}_${user.id}`,
            timestamp: nowSeconds(),
          }),
        ),
      ),
    );
    for (const user of users) await delivered('contact.updated', user.email);
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    const byUser = (a: { userId: string }, b: { userId: string }) =>
      Number(a.userId) - Number(b.userId);
    expect((await optOutsOf(users)).sort(byUser)).toEqual(
      users.map((user) => ({ userId: user.id, origin: 'unsubscribed' })),
    );

    // A resubscribe from before the unsubscribe, delivered late: the users stay unsubscribed.
    const [first] = users;
    if (!first) throw new Error('no user');
    const late = await post(event(first, false, new Date(unsubscribedAt.getTime() - 60_000)), {
      id: 'msg_twice_late',
      timestamp: nowSeconds(),
    });
    expect(late).toEqual({ status: 200, body: { success: true, processed: true } });
    const next = await sync({ list_name: uniqueName('After twice') });
    expect(await outcomes(next.runId, users)).toEqual(
      Object.fromEntries(users.map((user) => [user.id, 'skipped:unsubscribed_in_platform'])),
    );
    expect(await optOutsOf(users)).toHaveLength(6);

    // The app lifts the first one: its contact joins lists again, still unsubscribed in Resend,
    // and the directory reading that same flag again is no new unsubscribe.
    expect((await stack.call('POST', `/api/marketing/opt-outs/${first.id}/lift`)).body).toEqual({
      success: true,
      userId: first.id,
      lifted: 1,
    });
    for (const name of ['After the lift', 'After the lift again']) {
      const lifted = await sync({ list_name: uniqueName(name) });
      expect((await outcomes(lifted.runId, users))[first.id]).toBe('added');
      const contact = await contactOf(first.email);
      expect(contact?.unsubscribed).toBe(true);
      expect(contact?.segment_ids).toContain(lifted.listId);
    }
    expect((await optOutsOf(users)).filter((entry) => entry.userId === first.id)).toEqual([
      { userId: first.id, origin: 'unsubscribed' },
      { userId: first.id, origin: 'lifted' },
    ]);
  });
});

describe('with webhooks off', () => {
  beforeAll(async () => {
    await admin('DELETE', '/webhooks');
  });

  it('an unsubscribe in Resend is learned by the directory refresh and skipped in the next sync', async () => {
    const [ivy, jon] = await addUsers('refresh', 2);
    if (!ivy || !jon) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Refresh before') });
    expect(await outcomes(first.runId, [ivy, jon])).toEqual({
      [ivy.id]: 'added',
      [jon.id]: 'added',
    });
    const sent = (await deliveries()).length;

    await admin('POST', '/contacts/unsubscribe', { email: ivy.email });
    expect((await deliveries()).length).toBe(sent);
    expect(await consentRow(ivy.email)).toEqual([]);

    const second = await sync({ list_name: uniqueName('Refresh after') });
    expect(await outcomes(second.runId, [ivy, jon])).toEqual({
      [ivy.id]: 'skipped:unsubscribed_in_platform',
      [jon.id]: 'added',
    });
    expect((await contactOf(ivy.email))?.unsubscribed).toBe(true);
    expect(await optOutsOf([ivy, jon])).toEqual([{ userId: ivy.id, origin: 'unsubscribed' }]);
  });

  it('the webhook route says clearly when no signing secret is configured', async () => {
    const { startApiServer } = await import('../../api/server.js');
    const { createLogger } = await import('../../telemetry/logger.js');
    const { RESEND_WEBHOOK_SECRET: _unused, ...config } = stack.apiConfig;
    const api = await startApiServer({
      config,
      sql: stack.db.sql,
      temporal: stack.client,
      logger: createLogger('silent'),
    });
    try {
      const answer = await fetch(`${api.url}/webhooks/resend`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'svix-id': 'msg_x' },
        body: '{}',
      });
      expect(answer.status).toBe(503);
      expect(await answer.json()).toMatchObject({
        success: false,
        error: { code: 'webhooks_not_configured' },
      });
    } finally {
      await api.close();
    }
  });
});

describe('GET /api/marketing/opt-outs', () => {
  it('wants the secret and refuses a bad cursor or limit with the error body', async () => {
    const noSecret = await stack.call('GET', '/api/marketing/opt-outs', undefined, {
      authorization: '',
    });
    expect(noSecret.status).toBe(401);
    for (const query of ['after=-1', 'after=abc', 'limit=0', 'limit=1001', 'limit=2.5', 'x=1']) {
      const answer = await stack.call('GET', `/api/marketing/opt-outs?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body).toMatchObject({ success: false, error: { code: 'invalid_request' } });
    }
    const end = await stack.call('GET', '/api/marketing/opt-outs?after=999999999&limit=1000');
    expect(end.body).toEqual({ success: true, data: [], next: '999999999' });
  });
});
