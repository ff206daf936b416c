import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  eligibleEmails,
  emulatedContacts,
  requestLog,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';

/**
 * An account that cannot use Contact Imports (Resend answers 403 or 404 on them): the run falls
 * back to creating contacts one by one, says so in its status, and later runs of the account do
 * not ask again.
 */

const refusingStack = (refusal: 403 | 404) => {
  const state: { stack?: AppStack } = {};
  beforeAll(async () => {
    state.stack = await startAppStack({
      users: 150,
      mix: 'eligible',
      emulator: { rateLimit: 200 },
      worker: { RESEND_BULK: 'auto' },
    });
    const response = await fetch(`${state.stack.emulator.url}/_emulator/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ importRefusal: refusal }),
    });
    expect(response.status).toBe(200);
  });
  afterAll(async () => {
    await state.stack?.stop();
  });
  return () => {
    if (!state.stack) throw new Error('the stack did not start');
    return state.stack;
  };
};

async function syncAll(stack: AppStack, listName: string) {
  const started = await stack.call(
    'POST',
    '/api/marketing/sync',
    { platform: 'resend', list_name: listName },
    { prefer: 'respond-async' },
  );
  expect(started.status).toBe(202);
  return waitForRunEnd(stack, started.body.runId);
}

async function expectEveryoneIn(stack: AppStack, listId: string) {
  const members = await emulatedContacts(stack.emulator, `&segment_id=${listId}`);
  expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
    await eligibleEmails(stack),
  );
  expect(members.every((contact) => !contact.unsubscribed)).toBe(true);
}

const importRequests = async (stack: AppStack) =>
  (await requestLog(stack.emulator, '&path_prefix=/contacts/imports')).map((entry) => ({
    method: entry.method,
    status: entry.status,
  }));

describe('an account whose imports answer 403', () => {
  const stack = refusingStack(403);

  it('creates contacts one by one, says so, and does not ask again', async () => {
    const first = await syncAll(stack(), 'Refused imports');
    expect(first.status).toBe('completed');
    expect(first.progress).toMatchObject({ processed: 150, added: 150, failed: 0, skipped: 0 });
    expect(first.bulk).toEqual({
      mode: 'per_contact',
      message:
        'The account cannot use bulk creation (imports_refused:403_invalid_access); contacts are created one by one',
    });
    await expectEveryoneIn(stack(), first.audience.id);
    expect(await importRequests(stack())).toEqual([{ method: 'POST', status: 403 }]);
    const creates = await requestLog(stack().emulator, '&method=POST&path_prefix=/contacts');
    expect(creates.filter((entry) => entry.path === '/contacts')).toHaveLength(150);

    // The account is remembered: the next run goes one by one without trying an import.
    const second = await syncAll(stack(), 'Refused imports again');
    expect(second.status).toBe('completed');
    expect(second.progress).toMatchObject({ processed: 150, added: 150, failed: 0, skipped: 0 });
    expect(second.bulk).toEqual({
      mode: 'per_contact',
      message:
        'The account cannot use bulk creation (imports_refused:403_invalid_access); contacts are created one by one',
    });
    await expectEveryoneIn(stack(), second.audience.id);
    expect(await importRequests(stack())).toEqual([{ method: 'POST', status: 403 }]);
  }, 240_000);
});

describe('an account whose imports answer 404', () => {
  const stack = refusingStack(404);

  it('creates contacts one by one and says so', async () => {
    const run = await syncAll(stack(), 'No imports endpoint');
    expect(run.status).toBe('completed');
    expect(run.progress).toMatchObject({ processed: 150, added: 150, failed: 0, skipped: 0 });
    expect(run.bulk).toEqual({
      mode: 'per_contact',
      message:
        'The account cannot use bulk creation (imports_refused:404_not_found); contacts are created one by one',
    });
    await expectEveryoneIn(stack(), run.audience.id);
    expect(await importRequests(stack())).toEqual([{ method: 'POST', status: 404 }]);
  }, 240_000);
});
