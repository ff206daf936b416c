import type { Sql } from '../db/sql.js';
import { adminAll } from './emulator.js';

/** What a list on the emulator holds, held against what the app's users say it should. */

/** The population the mirror benchmarks keep a list equal to: active in the last 30 days. */
export const MIRROR_FILTERS = { filterActive: true, activeDays: 30 };

export interface AppUser {
  email: string;
  firstName: string | null;
  lastName: string | null;
  /** In the mirror population (a sendable user active in the last 30 days). */
  inPopulation: boolean;
}

export const appUsers = (sql: Sql) => sql<AppUser[]>`
  select lower(email) as email, first_name as "firstName", last_name as "lastName",
    last_active_at >= now() - interval '30 days' and deleted_at is null
      and not marketing_opt_out as "inPopulation"
  from users order by id`;

export interface ListDifferences {
  /** Users of the population who are not in the list. */
  missing: number;
  /** Users of the population in the list with other names than the app's. */
  staleNames: number;
  /** Users out of the population still in the list, and contacts of no user at all. */
  extra: number;
  /** Emails listed twice in the list, or held by two contacts of the account. */
  duplicates: number;
}

interface EmulatedContact {
  email: string;
  first_name: string | null;
  last_name: string | null;
}

/** How the list differs from the population, user by user; all zero when it is exact. */
export async function listDifferences(
  emulatorUrl: string,
  segmentId: string,
  users: AppUser[],
): Promise<ListDifferences> {
  const listed = await adminAll<EmulatedContact>(
    emulatorUrl,
    `/contacts?segment_id=${segmentId}`,
    'offset',
  );
  const accountEmails = (await adminAll<EmulatedContact>(emulatorUrl, '/contacts', 'offset')).map(
    (contact) => contact.email.toLowerCase(),
  );
  const members = new Map(listed.map((contact) => [contact.email.toLowerCase(), contact]));
  const known = new Set(users.map((user) => user.email));
  const differences: ListDifferences = {
    missing: 0,
    staleNames: 0,
    extra: [...members.keys()].filter((email) => !known.has(email)).length,
    duplicates: listed.length - members.size + (accountEmails.length - new Set(accountEmails).size),
  };
  for (const user of users) {
    const member = members.get(user.email);
    if (!user.inPopulation) {
      if (member) differences.extra += 1;
    } else if (!member) {
      differences.missing += 1;
    } else if (member.first_name !== user.firstName || member.last_name !== user.lastName) {
      differences.staleNames += 1;
    }
  }
  return differences;
}

/** How many users' list membership or names differ from what the app says. */
export async function wrongUsers(emulatorUrl: string, segmentId: string, users: AppUser[]) {
  const { missing, staleNames, extra } = await listDifferences(emulatorUrl, segmentId, users);
  return missing + staleNames + extra;
}
