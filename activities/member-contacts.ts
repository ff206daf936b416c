import { membersWithoutContactIds, setMemberContactIds } from '../db/member-contacts.js';
import type { Sql } from '../db/sql.js';
import type { MarketingPlatform } from './platforms/platform.js';

/** Members named to the directory at a time, when their contact ids are looked up. */
const CONTACT_ID_LOOKUP = 5000;

/**
 * Members the ledger knows by their email only (a bulk import created them) get the id the
 * platform's directory has for it by then, a look-up in Postgres, as an outcome would.
 */
export async function nameMembersKnownByEmail(
  sql: Sql,
  platform: Pick<MarketingPlatform, 'knownContacts'>,
  list: { platform: string; listId: string },
): Promise<void> {
  if (!platform.knownContacts) return;
  for (let after = ''; ; ) {
    const members = await membersWithoutContactIds(sql, list, after, CONTACT_ID_LOOKUP);
    const known = await platform.knownContacts(members.map((member) => member.emailHash));
    await setMemberContactIds(
      sql,
      list,
      members.flatMap((member) => {
        const contactId = known.get(member.emailHash);
        return contactId ? [{ ...member, contactId }] : [];
      }),
    );
    if (members.length < CONTACT_ID_LOOKUP) return;
    after = members.at(-1)?.userId ?? after;
  }
}
