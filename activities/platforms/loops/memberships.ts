import type { Sql } from '../../../db/sql.js';

/**
 * What this service did with a contact's mailing lists on one Loops team: `joined` (it put the
 * contact in) or `removed` (it took it out, a mirror removal). A list missing from a contact this
 * service joined to it, and did not remove, was left by the person: an unsubscribe.
 */
export type MembershipState = 'joined' | 'removed';

export interface LoopsMemberships {
  /** This service's last act on each of these lists for the user (absent: none). */
  of(userId: string, listIds: string[]): Promise<Map<string, MembershipState>>;
  note(userId: string, listIds: string[], state: MembershipState): Promise<void>;
  /** The contact is gone (deleted, erased): nothing of it is kept. */
  forget(userId: string): Promise<void>;
}

export function createLoopsMemberships(sql: Sql, account: string): LoopsMemberships {
  return {
    async of(userId, listIds) {
      const rows = await sql<{ listId: string; state: MembershipState }[]>`
        select list_id as "listId", state from audience_sync.loops_memberships
        where account = ${account} and user_id = ${userId} and list_id = any(${listIds}::text[])`;
      return new Map(rows.map((row) => [row.listId, row.state]));
    },
    async note(userId, listIds, state) {
      if (listIds.length === 0) return;
      await sql`
        insert into audience_sync.loops_memberships (account, user_id, list_id, state)
        select ${account}, ${userId}, list_id, ${state} from unnest(${listIds}::text[]) as list_id
        on conflict (account, user_id, list_id)
          do update set state = excluded.state, updated_at = now()`;
    },
    async forget(userId) {
      await sql`
        delete from audience_sync.loops_memberships
        where account = ${account} and user_id = ${userId}`;
    },
  };
}
