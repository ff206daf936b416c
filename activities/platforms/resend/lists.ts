import type { Sql } from '../../../db/sql.js';
import { PlatformError, type PlatformList, platformUnavailable } from '../platform.js';
import type { ResendClient } from './client.js';

/**
 * Segments, Resend's lists. Creating one is not idempotent, so every create happens under an
 * advisory lock on the account and name, and remembers which segments had that name before:
 * after an ambiguous answer (a timeout, or a 500 after the write happened) the retry adopts the
 * segment the first attempt made instead of making a second one.
 */

const ambiguousCreate = (name: string): PlatformError =>
  new PlatformError(
    'list_create_ambiguous',
    `Creating the list "${name}" got no clear answer; the retry looks for it before creating`,
    true,
  );

const refusedCreate = (code: string): PlatformError =>
  new PlatformError('list_refused', `Resend refused to create the list (${code})`, false);

export function createSegments(sql: Sql, client: ResendClient, account: string) {
  /** Serialises segment creation per account and name across every worker. */
  async function withNameLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const reserved = await sql.reserve();
    const key = `${account}|${name}`;
    try {
      await reserved`select pg_advisory_lock(hashtextextended(${key}, 0))`;
      return await work();
    } finally {
      await reserved`select pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => {});
      reserved.release();
    }
  }

  /** Segments whose name is exactly `name`, oldest first. */
  async function findByName(name: string): Promise<PlatformList[]> {
    const matches: (PlatformList & { createdAt: string })[] = [];
    let after: string | undefined;
    for (;;) {
      const { answer } = await client.idempotent('segments.list', (signal) =>
        client.sdk.segments.list(after ? { limit: 100, after } : { limit: 100 }, { signal }),
      );
      if (answer.error || !answer.data) {
        throw platformUnavailable(`Resend segments.list answered ${answer.error?.name}`);
      }
      for (const segment of answer.data.data) {
        if (segment.name === name) matches.push({ ...segment, createdAt: segment.created_at });
      }
      const last = answer.data.data.at(-1);
      if (!answer.data.has_more || !last) break;
      after = last.id;
    }
    return matches
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map(({ id, name: listName }) => ({ id, name: listName }));
  }

  async function create(name: string): Promise<PlatformList> {
    const result = await client.create('segments.create', (signal) =>
      client.sdk.segments.create({ name }, { signal }),
    );
    if (result.kind === 'ambiguous') throw ambiguousCreate(name);
    const { answer } = result;
    if (answer.error || !answer.data) throw refusedCreate(answer.error?.name ?? 'no_data');
    return { id: answer.data.id, name };
  }

  /** Segments with this name not made by anyone we know of: the one our last attempt made. */
  async function findOwnCreated(name: string, existingBefore: string[]) {
    const known = new Set(existingBefore);
    const claimed = await sql<{ listId: string }[]>`
      select list_id as "listId" from audience_sync.list_creates where list_id is not null
      union select list_id from audience_sync.named_lists where account = ${account}`;
    for (const row of claimed) known.add(row.listId);
    return (await findByName(name)).find((list) => !known.has(list.id));
  }

  return {
    async get(listId: string): Promise<PlatformList | null> {
      const { answer, kind } = await client.idempotent('segments.get', (signal) =>
        client.sdk.segments.get(listId, { signal }),
      );
      // Resend answers 422 for an id that is not a segment id at all: no such list either.
      if (kind === 'not_found' || kind === 'rejected') return null;
      if (answer.error || !answer.data) {
        throw platformUnavailable(`Resend segments.get answered ${answer.error?.name}`);
      }
      return { id: answer.data.id, name: answer.data.name };
    },

    /** Creates the run's new segment once, whatever happens to the answers. */
    async createForRun(runId: string, name: string): Promise<PlatformList> {
      return withNameLock(name, async () => {
        const [attempt] = await sql<{ existingListIds: string[]; listId: string | null }[]>`
          select existing_list_ids as "existingListIds", list_id as "listId"
          from audience_sync.list_creates where run_id = ${runId}`;
        if (attempt?.listId) return { id: attempt.listId, name };
        if (attempt) {
          const own = await findOwnCreated(name, attempt.existingListIds);
          if (own) return own;
        } else {
          const existing = await findByName(name);
          await sql`
            insert into audience_sync.list_creates (run_id, existing_list_ids)
            values (${runId}, ${existing.map((list) => list.id)})
            on conflict do nothing`;
        }
        const created = await create(name);
        await sql`
          update audience_sync.list_creates set list_id = ${created.id}
          where run_id = ${runId}`;
        return created;
      });
    },

    /**
     * The segment named exactly `name` (a tag), found or created once per account: two runs
     * starting together with the same new tag make one segment.
     */
    /** Read only: the segment `findOrCreate` would answer, if it exists already. */
    async find(name: string): Promise<PlatformList | null> {
      const [row] = await sql<{ listId: string }[]>`
        select list_id as "listId" from audience_sync.named_lists
        where account = ${account} and name = ${name}`;
      if (row) return { id: row.listId, name };
      const [existing] = await findByName(name);
      return existing ?? null;
    },

    async findOrCreate(name: string): Promise<PlatformList> {
      const remembered = async () => {
        const [row] = await sql<{ listId: string }[]>`
          select list_id as "listId" from audience_sync.named_lists
          where account = ${account} and name = ${name}`;
        return row && { id: row.listId, name };
      };
      const cached = await remembered();
      if (cached) return cached;
      return withNameLock(name, async () => {
        const again = await remembered();
        if (again) return again;
        // The oldest segment with the name: the one found or created by an earlier attempt.
        const [existing] = await findByName(name);
        const list = existing ?? (await create(name));
        await sql`
          insert into audience_sync.named_lists (account, name, list_id)
          values (${account}, ${name}, ${list.id})
          on conflict (account, name) do nothing`;
        return list;
      });
    },
  };
}
