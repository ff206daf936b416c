import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTACT_DIRECTORIES } from '../../activities/platforms/registry.js';
import { emailHash } from '../../common/emails.js';
import {
  ANY_ACCOUNT,
  appendMissingOptOuts,
  consentOf,
  readOptOuts,
  recordConsentFact,
  recordUnsubscribedFlags,
  recordWebhookFact,
} from '../../db/consent.js';
import { createTestDatabase, type TestDatabase } from '../support/stack.js';

/** As the webhook route passes it: Resend keeps a directory of its contacts. */
const resendDirectory = CONTACT_DIRECTORIES.resend;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const ACCOUNT = 'resend:aaaa';
const OTHER = 'resend:bbbb';

async function ledgerUser(userId: string, contactId: string, listId = 'seg-1') {
  await db.sql`
    insert into audience_sync.list_members (platform, list_id, user_id, contact_id)
    values ('resend', ${listId}, ${userId}, ${contactId})`;
}

async function directoryContact(account: string, email: string, contactId: string) {
  await db.sql`
    insert into audience_sync.contact_directory (account, email_hash, contact_id)
    values (${account}, ${emailHash(email)}, ${contactId})`;
}

async function runEmail(runId: string, userId: string, email: string) {
  await db.sql`
    insert into audience_sync.runs
      (run_id, platform, sync_type, trigger, filter_active, active_days, active_since)
    values (${runId}, 'resend', 'all', 'api', false, 30, now())
    on conflict do nothing`;
  await db.sql`
    insert into audience_sync.run_emails (run_id, email_hash, user_id)
    values (${runId}, ${emailHash(email)}, ${userId})`;
}

const feed = async () =>
  (await readOptOuts(db.sql, '0', 1000)).map(({ userId, origin }) => ({ userId, origin }));

describe('platform consent repository', () => {
  it('a webhook fact lands on the accounts that know the contact, once per delivery id, and starts an opt-out for its users', async () => {
    await directoryContact(ACCOUNT, 'ann@example.com', 'c-ann');
    await ledgerUser('u-ann', 'c-ann');
    await runEmail('run-1', 'u-ann-2', 'ann@example.com');
    const subject = {
      platform: 'resend',
      emailHash: emailHash('ann@example.com'),
      contactId: 'c-ann',
    };

    const first = await recordWebhookFact(
      db.sql,
      'msg_1',
      subject,
      {
        kind: 'unsubscribed',
        unsubscribed: true,
      },
      resendDirectory,
    );
    expect(first).toEqual({ processed: true, optOuts: 2 });
    const replay = await recordWebhookFact(
      db.sql,
      'msg_1',
      subject,
      { kind: 'deleted' },
      resendDirectory,
    );
    expect(replay).toEqual({ processed: false });

    const state = await consentOf(db.sql, 'resend', ACCOUNT, [
      subject.emailHash,
      emailHash('x@y.z'),
    ]);
    expect([...state]).toEqual([
      [subject.emailHash, { unsubscribed: true, deleted: false, suppressed: false }],
    ]);
    expect(await consentOf(db.sql, 'resend', OTHER, [subject.emailHash])).toEqual(new Map());
    expect(await feed()).toEqual([
      { userId: 'u-ann', origin: 'unsubscribed' },
      { userId: 'u-ann-2', origin: 'unsubscribed' },
    ]);

    // A second unsubscribe (another delivery) starts nothing new; a resubscribe lifts it.
    expect(
      await recordWebhookFact(
        db.sql,
        'msg_2',
        subject,
        {
          kind: 'unsubscribed',
          unsubscribed: true,
        },
        resendDirectory,
      ),
    ).toEqual({ processed: true, optOuts: 0 });
    await recordWebhookFact(
      db.sql,
      'msg_3',
      subject,
      {
        kind: 'unsubscribed',
        unsubscribed: false,
      },
      resendDirectory,
    );
    expect(await consentOf(db.sql, 'resend', ACCOUNT, [subject.emailHash])).toEqual(new Map());

    await recordWebhookFact(db.sql, 'msg_4', subject, { kind: 'deleted' }, resendDirectory);
    expect(await consentOf(db.sql, 'resend', ACCOUNT, [subject.emailHash])).toEqual(
      new Map([[subject.emailHash, { unsubscribed: false, deleted: true, suppressed: false }]]),
    );
    const deliveries = await db.sql`
      select svix_id from audience_sync.webhook_deliveries where svix_id like 'msg_%' order by 1`;
    expect(deliveries.map((row) => row.svix_id)).toEqual(['msg_1', 'msg_2', 'msg_3', 'msg_4']);
    const rows = await db.sql`
      select account, contact_id from audience_sync.platform_consent
      where email_hash = ${subject.emailHash}`;
    expect(rows.map((row) => ({ ...row }))).toEqual([{ account: ACCOUNT, contact_id: 'c-ann' }]);
  });

  it('a fact about a contact no directory knows holds for every account of the platform', async () => {
    const hash = emailHash('bob@example.com');
    await recordWebhookFact(
      db.sql,
      'msg_bob',
      { platform: 'resend', emailHash: hash, contactId: null },
      {
        kind: 'suppressed',
      },
      resendDirectory,
    );
    const [row] = await db.sql`
      select account from audience_sync.platform_consent where email_hash = ${hash}`;
    expect(row?.account).toBe(ANY_ACCOUNT);
    for (const account of [ACCOUNT, OTHER]) {
      expect(await consentOf(db.sql, 'resend', account, [hash])).toEqual(
        new Map([[hash, { unsubscribed: false, deleted: false, suppressed: true }]]),
      );
    }
    expect(await consentOf(db.sql, 'mailchimp', ACCOUNT, [hash])).toEqual(new Map());
  });

  it('the flags of a contact list page record unsubscribes, lift resubscribes and write nothing for the subscribed', async () => {
    await runEmail('run-2', 'u-cat', 'cat@example.com');
    const cat = { emailHash: emailHash('cat@example.com'), contactId: 'c-cat' };
    const dan = { emailHash: emailHash('dan@example.com'), contactId: 'c-dan' };
    const before = (await feed()).length;
    expect(
      await recordUnsubscribedFlags(
        db.sql,
        'resend',
        OTHER,
        [
          { ...cat, unsubscribed: true },
          { ...dan, unsubscribed: false },
        ],
        new Date(),
      ),
    ).toEqual({ optOuts: 1 });
    expect(
      await recordUnsubscribedFlags(
        db.sql,
        'resend',
        OTHER,
        [{ ...cat, unsubscribed: true }],
        new Date(),
      ),
    ).toEqual({ optOuts: 0 });
    expect((await feed()).slice(before)).toEqual([{ userId: 'u-cat', origin: 'unsubscribed' }]);
    const stored = await db.sql`
      select email_hash from audience_sync.platform_consent
      where account = ${OTHER} order by 1`;
    expect(stored.map((row) => row.email_hash)).toEqual([cat.emailHash]);
    expect([
      ...(await consentOf(db.sql, 'resend', OTHER, [cat.emailHash, dan.emailHash])).keys(),
    ]).toEqual([cat.emailHash]);
    await recordUnsubscribedFlags(
      db.sql,
      'resend',
      OTHER,
      [{ ...cat, unsubscribed: false }],
      new Date(),
    );
    expect(await consentOf(db.sql, 'resend', OTHER, [cat.emailHash])).toEqual(new Map());
  });

  it('the feed reads by cursor, oldest first, and a sync appends only opt-outs it does not hold', async () => {
    expect(await appendMissingOptOuts(db.sql, [{ userId: 'u-hal', origin: 'unsubscribed' }])).toBe(
      1,
    );
    const start = await readOptOuts(db.sql, '0', 1000);
    const cursor = start.at(-1)?.seq ?? '0';
    expect(
      await appendMissingOptOuts(db.sql, [
        { userId: 'u-hal', origin: 'unsubscribed' },
        { userId: 'u-eve', origin: 'deleted' },
        { userId: 'u-fay', origin: 'suppressed' },
        { userId: 'u-eve', origin: 'deleted' },
      ]),
    ).toBe(2);
    const page = await readOptOuts(db.sql, cursor, 1);
    expect(page.map(({ userId, origin }) => ({ userId, origin }))).toEqual([
      { userId: 'u-eve', origin: 'deleted' },
    ]);
    const rest = await readOptOuts(db.sql, page[0]?.seq ?? '', 10);
    expect(rest.map(({ userId, origin }) => ({ userId, origin }))).toEqual([
      { userId: 'u-fay', origin: 'suppressed' },
    ]);
    expect(await readOptOuts(db.sql, rest[0]?.seq ?? '', 10)).toEqual([]);
    expect(rest[0]?.at).toBeInstanceOf(Date);
  });

  it('a fact for a known account starts an opt-out for the users of the contact', async () => {
    await ledgerUser('u-gus', 'c-gus', 'seg-2');
    const subject = {
      platform: 'resend',
      emailHash: emailHash('gus@example.com'),
      contactId: 'c-gus',
    };
    expect(await recordConsentFact(db.sql, ACCOUNT, subject, { kind: 'deleted' })).toEqual({
      optOuts: 1,
    });
    expect(await recordConsentFact(db.sql, ACCOUNT, subject, { kind: 'deleted' })).toEqual({
      optOuts: 0,
    });
    const gus = (await feed()).filter((entry) => entry.userId === 'u-gus');
    expect(gus).toEqual([{ userId: 'u-gus', origin: 'deleted' }]);
  });

  it('two deliveries of one unsubscribe at the same moment, and a directory read beside them, make one entry per user', async () => {
    const subjects = [];
    for (let index = 0; index < 6; index += 1) {
      const email = `twice-${index}@example.com`;
      await directoryContact(ACCOUNT, email, `c-twice-${index}`);
      await ledgerUser(`u-twice-${index}`, `c-twice-${index}`, 'seg-twice');
      subjects.push({
        platform: 'resend',
        emailHash: emailHash(email),
        contactId: `c-twice-${index}`,
      });
    }
    const unsubscribe = { kind: 'unsubscribed', unsubscribed: true } as const;
    await Promise.all(
      subjects.flatMap((subject, index) => [
        recordWebhookFact(db.sql, `msg_twice_a_${index}`, subject, unsubscribe, resendDirectory),
        recordWebhookFact(db.sql, `msg_twice_b_${index}`, subject, unsubscribe, resendDirectory),
        recordUnsubscribedFlags(
          db.sql,
          'resend',
          ACCOUNT,
          [{ emailHash: subject.emailHash, contactId: subject.contactId, unsubscribed: true }],
          new Date(),
        ),
      ]),
    );
    const entries = (await feed()).filter((entry) => entry.userId.startsWith('u-twice-'));
    expect(entries.sort((a, b) => a.userId.localeCompare(b.userId))).toEqual(
      subjects.map((_, index) => ({ userId: `u-twice-${index}`, origin: 'unsubscribed' })),
    );
  });

  it("applies facts in the order of the platform's event time, not of their arrival", async () => {
    await directoryContact(ACCOUNT, 'ivy@example.com', 'c-ivy');
    await ledgerUser('u-ivy', 'c-ivy', 'seg-ivy');
    const subject = {
      platform: 'resend',
      emailHash: emailHash('ivy@example.com'),
      contactId: 'c-ivy',
    };
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const unsubscribed = (value: boolean, at: Date) =>
      ({ kind: 'unsubscribed', unsubscribed: value, at }) as const;
    const state = async () =>
      (await consentOf(db.sql, 'resend', ACCOUNT, [subject.emailHash])).get(subject.emailHash);

    await recordWebhookFact(
      db.sql,
      'msg_ivy_1',
      subject,
      unsubscribed(true, minutesAgo(5)),
      resendDirectory,
    );
    // A resubscribe from before the unsubscribe arrives late: it lifts nothing.
    await recordWebhookFact(
      db.sql,
      'msg_ivy_2',
      subject,
      unsubscribed(false, minutesAgo(10)),
      resendDirectory,
    );
    expect(await state()).toEqual({ unsubscribed: true, deleted: false, suppressed: false });
    // A resubscribe after it does.
    await recordWebhookFact(
      db.sql,
      'msg_ivy_3',
      subject,
      unsubscribed(false, minutesAgo(2)),
      resendDirectory,
    );
    expect(await state()).toBeUndefined();
    // An unsubscribe older than that resubscribe, arriving now, starts nothing.
    await recordWebhookFact(
      db.sql,
      'msg_ivy_4',
      subject,
      unsubscribed(true, minutesAgo(3)),
      resendDirectory,
    );
    expect(await state()).toBeUndefined();

    // The same holds for a contact the service first hears of by a resubscribe.
    await directoryContact(ACCOUNT, 'jo@example.com', 'c-jo');
    const jo = { platform: 'resend', emailHash: emailHash('jo@example.com'), contactId: 'c-jo' };
    await recordWebhookFact(
      db.sql,
      'msg_jo_1',
      jo,
      unsubscribed(false, minutesAgo(1)),
      resendDirectory,
    );
    await recordWebhookFact(
      db.sql,
      'msg_jo_2',
      jo,
      unsubscribed(true, minutesAgo(4)),
      resendDirectory,
    );
    expect(await consentOf(db.sql, 'resend', ACCOUNT, [jo.emailHash])).toEqual(new Map());
    expect((await feed()).filter((entry) => entry.userId === 'u-ivy')).toEqual([
      { userId: 'u-ivy', origin: 'unsubscribed' },
    ]);
  });
});
