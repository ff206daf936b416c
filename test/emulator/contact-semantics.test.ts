import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { callAdmin, callApi, field, stringField } from './support/http.js';

interface Memberships {
  data: { contact_id: string; segment_id: string; added_at: string }[];
}

const PAGINATION_MESSAGE =
  'The pagination limit must be a number between 1 and 100. See https://resend.com/docs/pagination for more information.';

describe('contacts, segments and memberships', () => {
  let emulator: StartedResendEmulator;
  let segmentId: string;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    emulator.reset();
    segmentId = stringField(
      (await callApi(emulator, 'POST', '/segments', { body: { name: 'S' } })).body,
      'id',
    );
  });

  const create = async (body: Record<string, unknown>) =>
    callApi(emulator, 'POST', '/contacts', { body });
  const stats = () =>
    callAdmin<{ contacts: number; memberships: number }>(emulator, 'GET', '/stats');

  describe('emails', () => {
    it('match whatever their case: one contact per address', async () => {
      const first = await create({ email: 'Mixed.Case@Example.com' });
      const second = await create({ email: 'mixed.case@example.COM' });
      expect(field(second.body, 'id')).toBe(field(first.body, 'id'));
      const found = await callApi(emulator, 'GET', '/contacts/MIXED.CASE@EXAMPLE.COM');
      expect(found.body).toMatchObject({ email: 'Mixed.Case@Example.com' });
      expect((await stats()).contacts).toBe(1);
    });

    it('are validated', async () => {
      const answer = await create({ email: 'xxx+!@gmail.com' });
      expect(answer.status).toBe(422);
      expect(answer.body).toMatchObject({ name: 'validation_error' });
    });
  });

  describe('creating', () => {
    it('refuses segments given as strings', async () => {
      const answer = await create({ email: 'a@example.com', segments: [segmentId] });
      expect(answer.body).toEqual({
        statusCode: 422,
        name: 'validation_error',
        message: 'Invalid input: expected object, received string',
      });
    });

    it('answers an unknown segment with 404 and writes nothing', async () => {
      const answer = await create({
        email: 'a@example.com',
        segments: [{ id: '00000000-0000-4000-8000-000000000000' }],
      });
      expect(answer.body).toMatchObject({ statusCode: 404, message: 'Audience not found' });
      expect((await stats()).contacts).toBe(0);
    });

    it('requires properties to be defined first, with the right type', async () => {
      const undefinedKey = await create({ email: 'a@example.com', properties: { plan: 'pro' } });
      expect(undefinedKey.body).toMatchObject({ statusCode: 422, name: 'validation_error' });
      await callApi(emulator, 'POST', '/contact-properties', {
        body: { key: 'plan', type: 'string' },
      });
      const wrongType = await create({ email: 'a@example.com', properties: { plan: 3 } });
      expect(wrongType.status).toBe(422);
      const { id } = (await create({ email: 'a@example.com', properties: { plan: 'pro' } }))
        .body as { id: string };
      const fetched = await callApi(emulator, 'GET', `/contacts/${id}`);
      expect(field(fetched.body, 'properties')).toEqual({ plan: { value: 'pro', type: 'string' } });
      await callApi(emulator, 'PATCH', `/contacts/${id}`, { body: { properties: { plan: null } } });
      expect(field((await callApi(emulator, 'GET', `/contacts/${id}`)).body, 'properties')).toEqual(
        {},
      );
    });
  });

  describe('contact properties', () => {
    const define = (body: Record<string, unknown>) =>
      callApi(emulator, 'POST', '/contact-properties', { body });

    it('take keys of at most 50 letters, digits and underscores, each defined once', async () => {
      expect((await define({ key: 'plan-name', type: 'string' })).status).toBe(422);
      expect((await define({ key: 'k'.repeat(51), type: 'string' })).status).toBe(422);
      expect((await define({ key: 'seats', type: 'boolean' })).status).toBe(422);
      expect((await define({ key: 'Seat_count_2', type: 'number' })).status).toBe(201);
      expect((await define({ key: 'Seat_count_2', type: 'number' })).status).toBe(422);
    });

    it('refuse values of another type, booleans and undefined keys in a patch too', async () => {
      await define({ key: 'seats', type: 'number' });
      await define({ key: 'plan', type: 'string' });
      const { id } = (await create({ email: 'b@example.com', properties: { seats: 2 } })).body as {
        id: string;
      };
      const patch = (properties: Record<string, unknown>) =>
        callApi(emulator, 'PATCH', `/contacts/${id}`, { body: { properties } });
      expect((await patch({ seats: '3' })).status).toBe(422);
      expect((await patch({ plan: 7 })).status).toBe(422);
      expect((await patch({ plan: true })).status).toBe(422);
      expect((await patch({ Plan: 'pro' })).status).toBe(422);
      expect((await patch({ seats: 3, plan: 'pro' })).status).toBe(200);
      expect(field((await callApi(emulator, 'GET', `/contacts/${id}`)).body, 'properties')).toEqual(
        {
          seats: { value: 3, type: 'number' },
          plan: { value: 'pro', type: 'string' },
        },
      );
    });
  });

  describe('updating and deleting', () => {
    it('refuses to change the email', async () => {
      await create({ email: 'a@example.com' });
      const answer = await callApi(emulator, 'PATCH', '/contacts/a@example.com', {
        body: { email: 'b@example.com' },
      });
      expect(answer.status).toBe(422);
      const same = await callApi(emulator, 'PATCH', '/contacts/a@example.com', {
        body: { email: 'A@example.com', first_name: null },
      });
      expect(same.status).toBe(200);
    });

    it('answers 404 for an unknown contact on the current paths', async () => {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const body = method === 'PATCH' ? { body: { first_name: 'X' } } : {};
        const answer = await callApi(emulator, method, '/contacts/nobody@example.com', body);
        expect(answer.body).toEqual({
          statusCode: 404,
          name: 'not_found',
          message: 'Contact not found',
        });
      }
    });

    it('keeps contacts when their segment is deleted', async () => {
      await create({ email: 'a@example.com', segments: [{ id: segmentId }] });
      await callApi(emulator, 'DELETE', `/segments/${segmentId}`);
      expect(await stats()).toMatchObject({ contacts: 1, memberships: 0 });
      const segments = await callApi(emulator, 'GET', '/contacts/a@example.com/segments');
      expect(field(segments.body, 'data')).toEqual([]);
    });

    it('removes a deleted contact from its segments', async () => {
      await create({ email: 'a@example.com', segments: [{ id: segmentId }] });
      await callApi(emulator, 'DELETE', '/contacts/a@example.com');
      expect(await stats()).toMatchObject({ contacts: 0, memberships: 0 });
      const members = await callApi(emulator, 'GET', `/contacts?segment_id=${segmentId}`);
      expect(field(members.body, 'data')).toEqual([]);
    });
  });

  describe('segment membership', () => {
    it('answers 404 Contact not found for an unknown contact, without side effects', async () => {
      const answer = await callApi(
        emulator,
        'POST',
        `/contacts/ghost@example.com/segments/${segmentId}`,
      );
      expect(answer.body).toEqual({
        statusCode: 404,
        name: 'not_found',
        message: 'Contact not found',
      });
      expect(await stats()).toMatchObject({ contacts: 0, memberships: 0 });
    });

    it('answers 404 for an unknown segment and 422 for a malformed one', async () => {
      await create({ email: 'a@example.com' });
      const unknown = await callApi(
        emulator,
        'POST',
        '/contacts/a@example.com/segments/00000000-0000-4000-8000-000000000000',
      );
      expect(unknown.body).toMatchObject({ statusCode: 404, message: 'Audience not found' });
      const malformed = await callApi(emulator, 'POST', '/contacts/a@example.com/segments/nope');
      expect(malformed.status).toBe(422);
    });

    it('re-adds idempotently, keeping the first added_at and leaving unsubscribed alone', async () => {
      await create({ email: 'a@example.com', unsubscribed: true });
      const path = `/contacts/a@example.com/segments/${segmentId}`;
      expect((await callApi(emulator, 'POST', path)).status).toBe(200);
      const before = await callAdmin<Memberships>(
        emulator,
        'GET',
        `/memberships?segment_id=${segmentId}`,
      );
      expect((await callApi(emulator, 'POST', path)).body).toEqual({ id: segmentId });
      const after = await callAdmin<Memberships>(
        emulator,
        'GET',
        `/memberships?segment_id=${segmentId}`,
      );
      expect(after.data).toEqual(before.data);
      expect(after.data).toHaveLength(1);
      expect(
        field((await callApi(emulator, 'GET', '/contacts/a@example.com')).body, 'unsubscribed'),
      ).toBe(true);
    });

    it('answers 404 when removing a contact that is not a member', async () => {
      await create({ email: 'a@example.com' });
      const answer = await callApi(
        emulator,
        'DELETE',
        `/contacts/a@example.com/segments/${segmentId}`,
      );
      expect(answer.status).toBe(404);
    });

    it('lists members both ways, newest contact first', async () => {
      for (const email of ['1@example.com', '2@example.com', '3@example.com']) {
        await create({ email, segments: [{ id: segmentId }] });
      }
      await create({ email: 'outsider@example.com' });
      const viaPath = await callApi(emulator, 'GET', `/segments/${segmentId}/contacts`);
      const viaQuery = await callApi(emulator, 'GET', `/contacts?segment_id=${segmentId}`);
      const emails = (field(viaPath.body, 'data') as unknown[]).map((item) =>
        stringField(item, 'email'),
      );
      expect(emails).toEqual(['3@example.com', '2@example.com', '1@example.com']);
      expect(viaQuery.body).toEqual(viaPath.body);
    });
  });

  describe('pagination', () => {
    it.each(['0', '101', 'abc', '1.5'])('refuses limit=%s', async (limit) => {
      const answer = await callApi(emulator, 'GET', `/contacts?limit=${limit}`);
      expect(answer.body).toEqual({
        statusCode: 422,
        name: 'validation_error',
        message: PAGINATION_MESSAGE,
      });
    });

    it('refuses after and before together, and cursors that name nothing', async () => {
      const { id } = (await create({ email: 'a@example.com' })).body as { id: string };
      const both = await callApi(emulator, 'GET', `/contacts?after=${id}&before=${id}`);
      expect(both.status).toBe(422);
      const stale = await callApi(
        emulator,
        'GET',
        '/contacts?after=00000000-0000-4000-8000-000000000000',
      );
      expect(stale.body).toMatchObject({ statusCode: 422, name: 'validation_error' });
    });
  });

  describe('legacy audience paths', () => {
    it('remove only the membership, and find only members', async () => {
      const { id } = (
        await callApi(emulator, 'POST', `/audiences/${segmentId}/contacts`, {
          body: { email: 'a@example.com' },
        })
      ).body as { id: string };
      await callApi(emulator, 'DELETE', `/audiences/${segmentId}/contacts/${id}`);
      expect(
        (await callApi(emulator, 'GET', `/audiences/${segmentId}/contacts/${id}`)).status,
      ).toBe(404);
      expect(
        (await callApi(emulator, 'PATCH', `/audiences/${segmentId}/contacts/${id}`, { body: {} }))
          .status,
      ).toBe(404);
      expect((await callApi(emulator, 'GET', `/contacts/${id}`)).status).toBe(200);
      const again = await callApi(emulator, 'POST', `/audiences/${segmentId}/contacts`, {
        body: { email: 'a@example.com' },
      });
      expect(field(again.body, 'id')).toBe(id);
    });

    it('answer an unknown audience with 404', async () => {
      const answer = await callApi(
        emulator,
        'POST',
        '/audiences/00000000-0000-4000-8000-000000000000/contacts',
        {
          body: { email: 'a@example.com' },
        },
      );
      expect(answer.body).toMatchObject({ statusCode: 404, message: 'Audience not found' });
      expect((await stats()).contacts).toBe(0);
    });
  });
});
