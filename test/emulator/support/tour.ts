import type { StartedResendEmulator } from '../../../emulator/resend/index.js';
import { callApi, stringField, TEST_KEY, waitFor } from './http.js';

export interface Exchange {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

/**
 * Calls every operation the emulator serves at least once with a successful answer, and answers
 * the exchanges in order.
 */
export async function tourEveryOperation(emulator: StartedResendEmulator): Promise<Exchange[]> {
  const exchanges: Exchange[] = [];
  const call = async (method: string, path: string, body?: unknown) => {
    const answer = await callApi(emulator, method, path, body === undefined ? {} : { body });
    exchanges.push({ method, path, status: answer.status, body: answer.body });
    return answer.body;
  };

  const property = await call('POST', '/contact-properties', {
    key: 'plan',
    type: 'string',
    fallback_value: 'free',
  });
  await call('POST', '/contact-properties', { key: 'seats', type: 'number' });
  await call('GET', '/contact-properties');
  await call('GET', `/contact-properties/${stringField(property, 'id')}`);
  const topic = await call('POST', '/topics', {
    name: 'News',
    default_subscription: 'opt_in',
    description: 'Monthly',
  });
  await call('GET', '/topics');
  await call('GET', `/topics/${stringField(topic, 'id')}`);

  const segmentId = stringField(await call('POST', '/segments', { name: 'Customers' }), 'id');
  await call('GET', '/segments');
  await call('GET', '/segments?limit=1');
  await call('GET', `/segments/${segmentId}`);
  await call('PATCH', `/segments/${segmentId}`, { name: 'Paying customers' });

  const contactId = stringField(
    await call('POST', '/contacts', {
      email: 'ann@example.com',
      first_name: 'Ann',
      properties: { plan: 'pro', seats: 3 },
      segments: [{ id: segmentId }],
      topics: [{ id: stringField(topic, 'id'), subscription: 'opt_in' }],
    }),
    'id',
  );
  await call('POST', '/contacts', { email: 'bob@example.com' });
  await call('GET', '/contacts');
  await call('GET', '/contacts?limit=1');
  await call('GET', `/contacts?segment_id=${segmentId}`);
  await call('GET', `/segments/${segmentId}/contacts?limit=10`);
  await call('GET', `/contacts/${contactId}`);
  await call('GET', '/contacts/ann@example.com');
  await call('PATCH', '/contacts/ann@example.com', { last_name: 'Lee', unsubscribed: true });

  const otherSegmentId = stringField(await call('POST', '/segments', { name: 'Trial' }), 'id');
  await call('POST', `/contacts/bob@example.com/segments/${otherSegmentId}`);
  await call('GET', '/contacts/bob@example.com/segments');
  await call('DELETE', `/contacts/bob@example.com/segments/${otherSegmentId}`);

  const audienceId = stringField(await call('POST', '/audiences', { name: 'Legacy list' }), 'id');
  await call('GET', '/audiences');
  await call('GET', `/audiences/${audienceId}`);
  const legacyContactId = stringField(
    await call('POST', `/audiences/${audienceId}/contacts`, { email: 'cy@example.com' }),
    'id',
  );
  await call('GET', `/audiences/${audienceId}/contacts`);
  await call('GET', `/audiences/${audienceId}/contacts/${legacyContactId}`);
  await call('PATCH', `/audiences/${audienceId}/contacts/cy@example.com`, { first_name: 'Cy' });
  await call('DELETE', `/audiences/${audienceId}/contacts/cy@example.com`);
  await call('DELETE', `/audiences/${audienceId}`);

  const form = new FormData();
  form.append(
    'file',
    new Blob(['email,first_name\ndee@example.com,Dee\nann@example.com,Ann\n']),
    'people.csv',
  );
  form.append('column_map', JSON.stringify({ email: 'email', first_name: 'first_name' }));
  form.append('on_conflict', 'upsert');
  form.append('segments', JSON.stringify([{ id: segmentId }]));
  const upload = await fetch(`${emulator.url}/contacts/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_KEY}`, 'user-agent': 'audience-sync-tests' },
    body: form,
  });
  const importBody: unknown = await upload.json();
  exchanges.push({
    method: 'POST',
    path: '/contacts/imports',
    status: upload.status,
    body: importBody,
  });
  const importId = stringField(importBody, 'id');
  await waitFor('the import to complete', async () => {
    const job = await call('GET', `/contacts/imports/${importId}`);
    return stringField(job, 'status') === 'completed' ? job : undefined;
  });
  await call('GET', '/contacts/imports');
  await call('GET', '/contacts/imports?status=completed&limit=5');

  await call('DELETE', `/contacts/${contactId}`);
  await call('DELETE', `/segments/${segmentId}`);
  await call('DELETE', `/topics/${stringField(topic, 'id')}`);
  await call('DELETE', `/contact-properties/${stringField(property, 'id')}`);
  return exchanges;
}
