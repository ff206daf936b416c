import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { newWebhookSecret } from '../../emulator/common/webhooks.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';

/**
 * SPEC "Platforms", Loops: `POST /webhooks/loops`, Standard Webhooks signatures with
 * LOOPS_WEBHOOK_SECRET; an unsubscribe from everything, from one mailing list, a deletion, a hard
 * bounce and a spam report become the same consent records as Resend's events. The route comes
 * from Loops' declaration in the platform registry.
 */
const SECRET = newWebhookSecret();
let stack: AppStack;
let nextId = 1;

beforeAll(async () => {
  // No worker: nothing here runs a sync.
  stack = await startAppStack({ inProcessWorker: false, api: { LOOPS_WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await stack?.stop();
});

/** A Loops event about the contact `email`, signed as Loops signs it. */
async function deliver(event: Record<string, unknown>, email: string, secret = SECRET) {
  const id = `msg_loops_${nextId++}`;
  const payload = JSON.stringify({
    eventName: event.eventName,
    eventTime: Math.floor(Date.now() / 1000),
    webhookSchemaVersion: '1.0.0',
    contactIdentity: { id: `contact_${email}`, email, userId: null },
    ...event,
  });
  const signature = new Webhook(secret).sign(id, new Date(), payload);
  const response = await fetch(`${stack.api.url}/webhooks/loops`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': signature,
    },
    body: payload,
  });
  return response.status;
}

/** The consent records kept for an email on Loops, list by list. */
async function consentOf(email: string) {
  const rows = await stack.db.sql<
    { list_id: string; unsubscribed: boolean; deleted: boolean; suppressed: boolean }[]
  >`
    select list_id, unsubscribed, deleted_at is not null as deleted,
      suppressed_at is not null as suppressed
    from audience_sync.platform_consent
    where platform = 'loops' and email_hash = ${emailHash(email)}
    order by list_id`;
  return rows.map((row) => ({ ...row }));
}

describe('POST /webhooks/loops', () => {
  it('records an unsubscribe from everything, and one from a single mailing list apart', async () => {
    expect(await deliver({ eventName: 'contact.unsubscribed' }, 'ann@example.com')).toBe(200);
    expect(
      await deliver(
        { eventName: 'contact.mailingList.unsubscribed', mailingList: { id: 'cm_news' } },
        'bob@example.com',
      ),
    ).toBe(200);
    expect(await consentOf('ann@example.com')).toEqual([
      { list_id: '', unsubscribed: true, deleted: false, suppressed: false },
    ]);
    expect(await consentOf('bob@example.com')).toEqual([
      { list_id: 'cm_news', unsubscribed: true, deleted: false, suppressed: false },
    ]);
  });

  it('records a deletion, a hard bounce and a spam report', async () => {
    expect(await deliver({ eventName: 'contact.deleted' }, 'cat@example.com')).toBe(200);
    expect(await deliver({ eventName: 'email.hardBounced' }, 'dan@example.com')).toBe(200);
    expect(await deliver({ eventName: 'email.spamReported' }, 'eve@example.com')).toBe(200);
    expect(await consentOf('cat@example.com')).toEqual([
      { list_id: '', unsubscribed: false, deleted: true, suppressed: false },
    ]);
    expect(await consentOf('dan@example.com')).toEqual([
      { list_id: '', unsubscribed: false, deleted: false, suppressed: true },
    ]);
    expect(await consentOf('eve@example.com')).toEqual([
      { list_id: '', unsubscribed: false, deleted: false, suppressed: true },
    ]);
  });

  it('refuses a delivery signed with another secret and records nothing', async () => {
    expect(
      await deliver({ eventName: 'contact.unsubscribed' }, 'fay@example.com', newWebhookSecret()),
    ).toBe(401);
    expect(await consentOf('fay@example.com')).toEqual([]);
  });
});
