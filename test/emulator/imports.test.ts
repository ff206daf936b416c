import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { callAdmin, callApi, field, stringField, TEST_KEY, waitFor } from './support/http.js';

interface ImportBody {
  status: string;
  counts: { total: number; created: number; updated: number; skipped: number; failed: number };
  completed_at: string | null;
}

describe('contact imports', () => {
  let emulator: StartedResendEmulator;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    emulator.reset();
    await callAdmin(emulator, 'PUT', '/config', {
      importQueuedMs: 25,
      importRefusal: null,
      importFailEmails: [],
      importSkipEmails: [],
    });
  });

  async function upload(csv: string, fields: Record<string, string> = {}) {
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'contacts.csv');
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    const response = await fetch(`${emulator.url}/contacts/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'user-agent': 'tests' },
      body: form,
    });
    return { status: response.status, body: (await response.json()) as unknown };
  }

  async function finished(id: string): Promise<ImportBody> {
    return waitFor(`import ${id} to finish`, async () => {
      const job = (await callApi(emulator, 'GET', `/contacts/imports/${id}`)).body as ImportBody;
      return job.status === 'completed' || job.status === 'failed' ? job : undefined;
    });
  }

  it('goes from queued to completed, in order', async () => {
    await callAdmin(emulator, 'PUT', '/config', { importQueuedMs: 1000 });
    const rows = Array.from({ length: 20_000 }, (_, index) => `person${index}@example.com`);
    const started = await upload(`email\n${rows.join('\n')}\n`);
    const id = stringField(started.body, 'id');
    const seen: string[] = [];
    const done = await waitFor('the import to complete', async () => {
      const job = (await callApi(emulator, 'GET', `/contacts/imports/${id}`)).body as ImportBody;
      if (seen.at(-1) !== job.status) seen.push(job.status);
      return job.status === 'completed' ? job : undefined;
    });
    expect(seen[0]).toBe('queued');
    expect(['queued,completed', 'queued,in_progress,completed']).toContain(seen.join());
    expect(done.counts).toEqual({
      total: 20_000,
      created: 20_000,
      updated: 0,
      skipped: 0,
      failed: 0,
    });
  });

  it('skips existing contacts by default and leaves them untouched', async () => {
    await callApi(emulator, 'POST', '/contacts', {
      body: { email: 'old@example.com', first_name: 'Old' },
    });
    const started = await upload(
      'email,first_name\nold@example.com,New\nfresh@example.com,Fresh\n',
    );
    const done = await finished(stringField(started.body, 'id'));
    expect(done.counts).toEqual({ total: 2, created: 1, updated: 0, skipped: 1, failed: 0 });
    const old = await callApi(emulator, 'GET', '/contacts/old@example.com');
    expect(field(old.body, 'first_name')).toBe('Old');
  });

  it('upserts like a duplicate create: unmapped fields reset while the switch is on', async () => {
    await callApi(emulator, 'POST', '/contacts', {
      body: { email: 'old@example.com', first_name: 'Old', unsubscribed: true },
    });
    const started = await upload('email\nold@example.com\n', { on_conflict: 'upsert' });
    expect((await finished(stringField(started.body, 'id'))).counts.updated).toBe(1);
    const old = await callApi(emulator, 'GET', '/contacts/old@example.com');
    expect(old.body).toMatchObject({ first_name: null, unsubscribed: false });
  });

  it('maps columns, types properties and counts failed rows', async () => {
    await callApi(emulator, 'POST', '/contact-properties', {
      body: { key: 'seats', type: 'number' },
    });
    const segment = await callApi(emulator, 'POST', '/segments', { body: { name: 'Imported' } });
    const segmentId = stringField(segment.body, 'id');
    const csv = [
      'Mail,Given,"Opted out",Seats',
      'a@example.com,Ann,yes,3',
      '"b@example.com","Bob, Jr.",no,',
      'broken,Nobody,no,1',
      'c@example.com,Cy,maybe,1',
      'd@example.com,Dee,no,many',
    ].join('\r\n');
    const started = await upload(csv, {
      column_map: JSON.stringify({
        email: 'Mail',
        first_name: 'Given',
        unsubscribed: 'Opted out',
        properties: { seats: { column: 'Seats', type: 'number' } },
      }),
      segments: JSON.stringify([{ id: segmentId }]),
    });
    const done = await finished(stringField(started.body, 'id'));
    expect(done.counts).toEqual({ total: 5, created: 2, updated: 0, skipped: 0, failed: 3 });
    const ann = await callApi(emulator, 'GET', '/contacts/a@example.com');
    expect(ann.body).toMatchObject({
      first_name: 'Ann',
      unsubscribed: true,
      properties: { seats: { value: 3, type: 'number' } },
    });
    expect(
      field((await callApi(emulator, 'GET', '/contacts/b@example.com')).body, 'first_name'),
    ).toBe('Bob, Jr.');
    const members = await callApi(emulator, 'GET', `/segments/${segmentId}/contacts`);
    expect(field(members.body, 'data')).toHaveLength(2);
  });

  it('fails an import whose mapped column is missing', async () => {
    const started = await upload('name\nAnn\n', { column_map: JSON.stringify({ email: 'Email' }) });
    const done = await finished(stringField(started.body, 'id'));
    expect(done.status).toBe('failed');
    expect(done.completed_at).toEqual(expect.any(String));
  });

  it('refuses bad requests at once', async () => {
    const noFile = await fetch(`${emulator.url}/contacts/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'user-agent': 'tests' },
      body: new FormData(),
    });
    expect(await noFile.json()).toMatchObject({ statusCode: 422, name: 'missing_required_field' });
    expect((await upload('email\n', { on_conflict: 'merge' })).status).toBe(422);
    expect((await upload('email\n', { column_map: '{not json' })).status).toBe(422);
    const unknownSegment = await upload('email\n', {
      segments: JSON.stringify([{ id: '00000000-0000-4000-8000-000000000000' }]),
    });
    expect(unknownSegment.status).toBe(404);
    const undefinedProperty = await upload('email,plan\n', {
      column_map: JSON.stringify({ email: 'email', properties: { plan: { column: 'plan' } } }),
    });
    expect(undefinedProperty.status).toBe(422);
  });

  it('lists imports newest first, ten by default, filtered by status', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 11; index += 1) {
      ids.push(stringField((await upload(`email\nperson${index}@example.com\n`)).body, 'id'));
    }
    for (const id of ids) await finished(id);
    const page = await callApi(emulator, 'GET', '/contacts/imports');
    const listed = (field(page.body, 'data') as unknown[]).map((job) => stringField(job, 'id'));
    expect(listed).toEqual(ids.slice(1).reverse());
    expect(field(page.body, 'has_more')).toBe(true);
    const queued = await callApi(emulator, 'GET', '/contacts/imports?status=queued');
    expect(field(queued.body, 'data')).toEqual([]);
    expect((await callApi(emulator, 'GET', '/contacts/imports?status=done')).status).toBe(422);
  });

  it('refuses imports with 404 or 403 when told to, creating nothing', async () => {
    await callAdmin(emulator, 'PUT', '/config', { importRefusal: 404 });
    const missing = await upload('email\na@example.com\n');
    expect(missing).toEqual({
      status: 404,
      body: {
        statusCode: 404,
        message: 'The requested endpoint does not exist.',
        name: 'not_found',
      },
    });
    await callAdmin(emulator, 'PUT', '/config', { importRefusal: 403 });
    const forbidden = await upload('email\na@example.com\n');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ statusCode: 403, name: 'invalid_access' });
    expect((await callApi(emulator, 'GET', '/contacts/imports')).status).toBe(403);
    expect((await callApi(emulator, 'GET', '/contacts/a@example.com')).status).toBe(404);
    await callAdmin(emulator, 'PUT', '/config', { importRefusal: null });
    expect((await upload('email\na@example.com\n')).status).toBe(201);
  });

  it('fails and skips the rows it was told to, writing nothing for them', async () => {
    const segment = await callApi(emulator, 'POST', '/segments', { body: { name: 'Chosen' } });
    const segmentId = stringField(segment.body, 'id');
    await callAdmin(emulator, 'PUT', '/config', {
      importFailEmails: ['Broken@Example.com'],
      importSkipEmails: ['passed@example.com'],
    });
    const started = await upload(
      'email\nbroken@example.com\npassed@example.com\nkept@example.com\n',
      { segments: JSON.stringify([{ id: segmentId }]) },
    );
    const done = await finished(stringField(started.body, 'id'));
    expect(done.counts).toEqual({ total: 3, created: 1, updated: 0, skipped: 1, failed: 1 });
    const members = await callApi(emulator, 'GET', `/segments/${segmentId}/contacts`);
    expect((field(members.body, 'data') as unknown[]).map((row) => field(row, 'email'))).toEqual([
      'kept@example.com',
    ]);
    expect((await callApi(emulator, 'GET', '/contacts/broken@example.com')).status).toBe(404);
    expect((await callApi(emulator, 'GET', '/contacts/passed@example.com')).status).toBe(404);
  });
});
