import { Resend } from 'resend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { dataOf } from '../support/sdk-answers.js';
import { waitFor } from './support/http.js';

describe('the official SDK against the emulator', () => {
  let emulator: StartedResendEmulator;
  let resend: Resend;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
    resend = new Resend('re_test_key', { baseUrl: emulator.url });
  });
  afterAll(() => emulator.close());
  beforeEach(() => emulator.reset());

  describe('segments', () => {
    it('creates, gets, lists, renames and removes a segment', async () => {
      const created = dataOf(await resend.segments.create({ name: 'Customers' }));
      expect(created).toEqual({ object: 'segment', id: created.id, name: 'Customers' });
      const fetched = dataOf(await resend.segments.get(created.id));
      expect(fetched).toMatchObject({ object: 'segment', id: created.id, name: 'Customers' });
      expect(fetched.created_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00$/);

      const second = dataOf(await resend.segments.create({ name: 'Trial' }));
      const page = dataOf(await resend.segments.list({ limit: 1 }));
      expect(page.data.map((segment) => segment.id)).toEqual([second.id]);
      expect(page.has_more).toBe(true);
      const next = dataOf(await resend.segments.list({ limit: 1, after: second.id }));
      expect(next.data.map((segment) => segment.id)).toEqual([created.id]);
      expect(next.has_more).toBe(false);

      dataOf(await resend.segments.update(created.id, { name: 'Paying customers' }));
      expect(dataOf(await resend.segments.get(created.id)).name).toBe('Paying customers');
      expect(dataOf(await resend.segments.remove(created.id))).toEqual({
        object: 'segment',
        id: created.id,
        deleted: true,
      });
      const gone = await resend.segments.get(created.id);
      expect(gone.data).toBeNull();
      expect(gone.error).toEqual({
        statusCode: 404,
        name: 'not_found',
        message: 'Audience not found',
      });
    });

    it('answers the legacy audiences through the same ids', async () => {
      const audience = dataOf(await resend.audiences.create({ name: 'Legacy' }));
      const viaLegacyPath = await fetch(`${emulator.url}/audiences/${audience.id}`, {
        headers: { authorization: 'Bearer re_test_key', 'user-agent': 'tests' },
      });
      expect(await viaLegacyPath.json()).toMatchObject({
        object: 'audience',
        id: audience.id,
        name: 'Legacy',
      });
    });
  });

  describe('contacts', () => {
    it('creates a contact in segments and reads it by id and by email', async () => {
      const segment = dataOf(await resend.segments.create({ name: 'Customers' }));
      const created = dataOf(
        await resend.contacts.create({
          email: 'ann@example.com',
          firstName: 'Ann',
          segments: [{ id: segment.id }],
        }),
      );
      expect(created).toEqual({ object: 'contact', id: created.id });

      const byId = dataOf(await resend.contacts.get({ id: created.id }));
      expect(byId).toMatchObject({
        object: 'contact',
        id: created.id,
        email: 'ann@example.com',
        first_name: 'Ann',
        last_name: null,
        unsubscribed: false,
        properties: {},
      });
      const byEmail = dataOf(await resend.contacts.get({ email: 'ann@example.com' }));
      expect(byEmail).toEqual(byId);
      const members = dataOf(await resend.contacts.list({ segmentId: segment.id }));
      expect(members.data.map((contact) => contact.id)).toEqual([created.id]);
    });

    it('updates a contact by email and by id', async () => {
      const { id } = dataOf(await resend.contacts.create({ email: 'bob@example.com' }));
      expect(
        dataOf(
          await resend.contacts.update({
            email: 'bob@example.com',
            firstName: 'Bob',
            unsubscribed: true,
          }),
        ),
      ).toEqual({ object: 'contact', id });
      dataOf(await resend.contacts.update({ id, lastName: 'Stone' }));
      expect(dataOf(await resend.contacts.get({ id }))).toMatchObject({
        first_name: 'Bob',
        last_name: 'Stone',
        unsubscribed: true,
      });
    });

    it('lists contacts newest first with cursors', async () => {
      const ids: string[] = [];
      for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
        ids.push(dataOf(await resend.contacts.create({ email })).id);
      }
      const first = dataOf(await resend.contacts.list({ limit: 2 }));
      expect(first.data.map((contact) => contact.id)).toEqual([ids[2], ids[1]]);
      expect(first.has_more).toBe(true);
      const rest = dataOf(await resend.contacts.list({ limit: 2, after: ids[1] }));
      expect(rest.data.map((contact) => contact.id)).toEqual([ids[0]]);
      expect(rest.has_more).toBe(false);
      const back = dataOf(await resend.contacts.list({ limit: 1, before: ids[0] }));
      expect(back.data.map((contact) => contact.id)).toEqual([ids[1]]);
      expect(back.has_more).toBe(true);
      expect(dataOf(await resend.contacts.list()).data).toHaveLength(3);
    });

    it('removes contacts by id and by email', async () => {
      const { id } = dataOf(await resend.contacts.create({ email: 'gone@example.com' }));
      dataOf(await resend.contacts.create({ email: 'also-gone@example.com' }));
      expect(dataOf(await resend.contacts.remove({ id }))).toEqual({
        object: 'contact',
        contact: id,
        deleted: true,
      });
      const byEmail = dataOf(await resend.contacts.remove({ email: 'also-gone@example.com' }));
      expect(byEmail).toMatchObject({ object: 'contact', deleted: true });
      expect(dataOf(await resend.contacts.list()).data).toEqual([]);
    });

    it('manages segment membership', async () => {
      const segment = dataOf(await resend.segments.create({ name: 'Newsletter' }));
      const { id } = dataOf(await resend.contacts.create({ email: 'dee@example.com' }));
      expect(
        dataOf(
          await resend.contacts.segments.add({ email: 'dee@example.com', segmentId: segment.id }),
        ),
      ).toEqual({ id: segment.id });
      const listed = dataOf(await resend.contacts.segments.list({ contactId: id }));
      expect(listed.data).toEqual([
        { id: segment.id, name: 'Newsletter', created_at: expect.any(String) },
      ]);
      expect(
        dataOf(await resend.contacts.segments.remove({ contactId: id, segmentId: segment.id })),
      ).toEqual({
        object: 'contact_segment',
        id,
        audienceId: segment.id,
        deleted: true,
      });
      expect(
        dataOf(await resend.contacts.segments.list({ email: 'dee@example.com' })).data,
      ).toEqual([]);
    });

    it('imports contacts from a CSV and reports the counts', async () => {
      const segment = dataOf(await resend.segments.create({ name: 'Imported' }));
      dataOf(await resend.contacts.create({ email: 'old@example.com', firstName: 'Old' }));
      const csv =
        'Email,First Name\nnew@example.com,New\nold@example.com,Renamed\nnot-an-email,X\n';
      const started = dataOf(
        await resend.contacts.imports.create({
          file: new Blob([csv], { type: 'text/csv' }),
          columnMap: { email: 'Email', firstName: 'First Name' },
          onConflict: 'upsert',
          segments: [{ id: segment.id }],
        }),
      );
      expect(started).toEqual({ object: 'contact_import', id: started.id });
      const done = await waitFor('the import to complete', async () => {
        const job = dataOf(await resend.contacts.imports.get(started.id));
        return job.status === 'completed' ? job : undefined;
      });
      expect(done.counts).toEqual({ total: 3, created: 1, updated: 1, skipped: 0, failed: 1 });
      expect(done.completed_at).toEqual(expect.any(String));
      expect(dataOf(await resend.contacts.imports.list()).data.map((job) => job.id)).toEqual([
        started.id,
      ]);
      expect(dataOf(await resend.contacts.get({ email: 'old@example.com' })).first_name).toBe(
        'Renamed',
      );
      expect(dataOf(await resend.contacts.list({ segmentId: segment.id })).data).toHaveLength(2);
    });
  });

  describe('legacy audienceId forms', () => {
    it('creates, gets, updates, lists and removes through the audience paths', async () => {
      const audience = dataOf(await resend.segments.create({ name: 'Legacy list' }));
      const audienceId = audience.id;
      const { id } = dataOf(await resend.contacts.create({ audienceId, email: 'eve@example.com' }));
      expect(dataOf(await resend.contacts.get({ audienceId, id }))).toMatchObject({
        id,
        email: 'eve@example.com',
      });
      dataOf(
        await resend.contacts.update({ audienceId, email: 'eve@example.com', firstName: 'Eve' }),
      );
      expect(dataOf(await resend.contacts.list({ audienceId })).data).toMatchObject([
        { id, first_name: 'Eve' },
      ]);
      expect(
        dataOf(await resend.contacts.remove({ audienceId, email: 'eve@example.com' })),
      ).toEqual({
        object: 'contact',
        contact: 'eve@example.com',
        deleted: true,
      });
      const afterRemoval = await resend.contacts.get({ audienceId, id });
      expect(afterRemoval.error).toMatchObject({ statusCode: 404, name: 'not_found' });
      // The audience-scoped delete removes the membership; the contact itself stays.
      expect(dataOf(await resend.contacts.get({ id })).email).toBe('eve@example.com');
    });
  });

  describe('errors', () => {
    it('answers an unknown contact with not_found', async () => {
      const answer = await resend.contacts.get({ email: 'nobody@example.com' });
      expect(answer.data).toBeNull();
      expect(answer.error).toEqual({
        statusCode: 404,
        name: 'not_found',
        message: 'Contact not found',
      });
    });

    it('answers a missing field with missing_required_field', async () => {
      const answer = await resend.segments.create({} as { name: string });
      expect(answer.data).toBeNull();
      expect(answer.error).toEqual({
        statusCode: 422,
        name: 'missing_required_field',
        message: 'Missing `name` field.',
      });
    });

    it('answers an unknown key with validation_error', async () => {
      const strict = await startResendEmulator({ apiKeys: ['re_only_this_one'] });
      try {
        const answer = await new Resend('re_test_key', { baseUrl: strict.url }).segments.list();
        expect(answer.error).toEqual({
          statusCode: 400,
          name: 'validation_error',
          message: 'API key is invalid',
        });
      } finally {
        await strict.close();
      }
    });

    it('answers the rate limit with rate_limit_exceeded', async () => {
      emulator.setFaults({ rateLimitStorm: { durationMs: 60_000 } });
      const answer = await resend.segments.list();
      expect(answer.error).toMatchObject({ statusCode: 429, name: 'rate_limit_exceeded' });
      expect(answer.headers?.['retry-after']).toBe('1');
    });

    it('reports a non-JSON 502 as application_error', async () => {
      emulator.setFaults({ serverErrorRate: 1, serverErrorStatus: 502 });
      const answer = await resend.contacts.create({ email: 'x@example.com' });
      expect(answer.error).toMatchObject({ statusCode: 502, name: 'application_error' });
    });

    it('reports a refused connection with statusCode null', async () => {
      const closed = await startResendEmulator();
      await closed.close();
      const answer = await new Resend('re_test_key', { baseUrl: closed.url }).segments.list();
      expect(answer.error).toMatchObject({ statusCode: null, name: 'application_error' });
    });
  });
});
