import {
  type ListKey,
  namingStart,
  recordNamedThrough,
  setMemberContactIds,
  unnamedEmailHashes,
} from '../db/member-contacts.js';
import type { Sql } from '../db/sql.js';
import type { MarketingPlatform } from './platforms/platform.js';

/** Directory entries, or members, taken at a time. */
const NAMING_PAGE = 5000;

type Directory = Pick<MarketingPlatform, 'knownContacts' | 'contactsLearnedSince'>;

/**
 * Members the ledger knows by their email only (a bulk import created them) get the id the
 * platform's directory has for it by then, in Postgres, as an outcome would. A list named before
 * is named from the entries the directory learned since (after an import that is its newest
 * page, not the import's contacts, which it has not read): what changed, not the list. Its
 * first naming (or a directory that cannot say what it learned) looks its unnamed members up.
 * Answers how many members it named.
 */
export async function nameMembersKnownByEmail(
  sql: Sql,
  platform: Directory,
  list: ListKey,
): Promise<number> {
  const { knownContacts, contactsLearnedSince } = platform;
  if (!knownContacts) return 0;
  const start = await namingStart(sql, list);
  let named = 0;
  if (start.unnamed) {
    named =
      start.since === null || !contactsLearnedSince
        ? await nameByLookUp(sql, knownContacts, list)
        : await nameFromLearned(sql, contactsLearnedSince, list, start.since);
  }
  await recordNamedThrough(sql, list, start.through);
  return named;
}

async function nameFromLearned(
  sql: Sql,
  learnedSince: NonNullable<Directory['contactsLearnedSince']>,
  list: ListKey,
  since: string,
): Promise<number> {
  let named = 0;
  for (let cursor = { xid: since, emailHash: '' }; ; ) {
    const page = await learnedSince(cursor, NAMING_PAGE);
    named += await setMemberContactIds(sql, list, page.contacts);
    if (!page.next) return named;
    cursor = page.next;
  }
}

async function nameByLookUp(
  sql: Sql,
  knownContacts: NonNullable<Directory['knownContacts']>,
  list: ListKey,
): Promise<number> {
  let named = 0;
  for (let after = ''; ; ) {
    const hashes = await unnamedEmailHashes(sql, list, after, NAMING_PAGE);
    const known = await knownContacts(hashes);
    named += await setMemberContactIds(
      sql,
      list,
      [...known].map(([emailHash, contactId]) => ({ emailHash, contactId })),
    );
    if (hashes.length < NAMING_PAGE) return named;
    after = hashes.at(-1) ?? after;
  }
}
