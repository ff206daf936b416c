import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namingStart, recordNamedThrough } from '../../db/member-contacts.js';
import { createTestDatabase, type TestDatabase } from '../support/stack.js';

/**
 * A list's naming starts from the transaction id its last naming read through. A database
 * restored into another cluster counts transaction ids from lower down: a stored id above the
 * cluster's current one means nothing there, so the list counts as never named (its members are
 * looked up) and its next naming records where it really read through.
 */

let db: TestDatabase;
const list = { platform: 'resend', listId: 'list-naming-start' };

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql`
    insert into audience_sync.list_members (platform, list_id, user_id, email_hash)
    values (${list.platform}, ${list.listId}, 'u1', 'hash-1')`;
});

afterAll(async () => {
  await db?.drop();
});

describe('where a naming starts', () => {
  it('counts a stored transaction id from beyond the cluster as never named, then records a real one', async () => {
    const first = await namingStart(db.sql, list);
    expect(first).toMatchObject({ since: null, unnamed: true });
    await recordNamedThrough(db.sql, list, first.through);
    expect((await namingStart(db.sql, list)).since).toBe(first.through);

    // As after a restore into a new cluster: the stored id is far above the current one.
    await db.sql`
      update audience_sync.list_contact_naming set named_through = '900000000000'::xid8
      where platform = ${list.platform} and list_id = ${list.listId}`;
    const restored = await namingStart(db.sql, list);
    expect(restored.since).toBeNull();
    await recordNamedThrough(db.sql, list, restored.through);
    const [stored] = await db.sql<{ through: string }[]>`
      select named_through::text as through from audience_sync.list_contact_naming
      where platform = ${list.platform} and list_id = ${list.listId}`;
    expect(stored?.through).toBe(restored.through);
    expect((await namingStart(db.sql, list)).since).toBe(restored.through);
  });
});
