import type { StartedLoopsEmulator } from '../../emulator/loops/index.js';
import type { LoggedRequest } from './app-stack.js';

/**
 * The Loops emulator's admin API, for set-ups and assertions on what Loops would hold: read from
 * the emulator's state, never from the service's tables.
 */

/** A contact as the admin API shows it. */
export interface LoopsContactView {
  id: string;
  email: string;
  userId: string | null;
  firstName: string | null;
  lastName: string | null;
  subscribed: boolean;
  mailingLists: string[];
  properties: Record<string, unknown>;
  optedOutLists: string[];
  resubscriptions: number;
}

export async function loopsAdmin<T>(
  loops: StartedLoopsEmulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${loops.url}/_emulator${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`Loops admin ${method} ${path} answered ${response.status}`);
  return (await response.json()) as T;
}

/** A new mailing list, as someone makes one in Loops' dashboard (its API cannot). */
export async function createMailingList(loops: StartedLoopsEmulator, name: string) {
  return loopsAdmin<{ id: string; name: string }>(loops, 'POST', '/lists', { name });
}

/** Contacts, oldest first: all, or those of a list (`listId=`), or one (`email=`, `userId=`). */
export async function loopsContacts(
  loops: StartedLoopsEmulator,
  query = '',
): Promise<LoopsContactView[]> {
  const answer = await loopsAdmin<{ data: LoopsContactView[] }>(
    loops,
    'GET',
    `/contacts?limit=100000${query}`,
  );
  return answer.data;
}

/** The request log since `sinceSeq` (paths without `/api`). */
export async function loopsRequests(
  loops: StartedLoopsEmulator,
  sinceSeq = 0,
): Promise<LoggedRequest[]> {
  const answer = await loopsAdmin<{ data: LoggedRequest[] }>(
    loops,
    'GET',
    `/requests?limit=1000000&since_seq=${sinceSeq}`,
  );
  return answer.data;
}

/** The last request's sequence number: a mark to read the log from. */
export const loopsMark = async (loops: StartedLoopsEmulator): Promise<number> =>
  (await loopsRequests(loops)).at(-1)?.seq ?? 0;

/** The requests since `mark` that could change anything, as `METHOD path key`. */
export async function loopsWritesSince(loops: StartedLoopsEmulator, mark: number) {
  return (await loopsRequests(loops, mark))
    .filter((entry) => entry.method !== 'GET')
    .map((entry) => `${entry.method} ${entry.path} ${entry.key ?? ''} ${entry.status}`);
}

/** Someone acts on a contact in Loops (unsubscribes, leaves a list, deletes it). */
export async function loopsPerson(
  loops: StartedLoopsEmulator,
  action: 'unsubscribe' | 'unsubscribe-from-list' | 'delete',
  body: Record<string, string>,
): Promise<void> {
  await loopsAdmin(loops, 'POST', `/contacts/${action}`, body);
}
