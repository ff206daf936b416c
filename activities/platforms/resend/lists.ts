import { withAdvisoryLock } from '../../../db/advisory-lock.js';
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

/** What the segment steps share: the account's rows and its Resend client. */
interface SegmentContext {
  sql: Sql;
  client: ResendClient;
  account: string;
}

/** Serialises segment creation per account and name across every worker. */
function withNameLock<T>(
  { sql, account }: SegmentContext,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  return withAdvisoryLock(sql, `${account}|${name}`, work);
}

/** Segments whose name is exactly `name`, oldest first. */
async function findByName({ client }: SegmentContext, name: string): Promise<PlatformList[]> {
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

async function create({ client }: SegmentContext, name: string): Promise<PlatformList> {
  const result = await client.create('segments.create', (signal) =>
    client.sdk.segments.create({ name }, { signal }),
  );
  if (result.kind === 'ambiguous') throw ambiguousCreate(name);
  const { answer } = result;
  if (answer.error || !answer.data) throw refusedCreate(answer.error?.name ?? 'no_data');
  return { id: answer.data.id, name };
}

/** Segments with this name not made by anyone we know of: the one our last attempt made. */
async function findOwnCreated(context: SegmentContext, name: string, existingBefore: string[]) {
  const { sql, account } = context;
  const known = new Set(existingBefore);
  const claimed = await sql<{ listId: string }[]>`
    select list_id as "listId" from audience_sync.list_creates where list_id is not null
    union select list_id from audience_sync.named_lists where account = ${account}`;
  for (const row of claimed) known.add(row.listId);
  return (await findByName(context, name)).find((list) => !known.has(list.id));
}

/** The segment this account remembers for the name (a tag), if any. */
async function rememberedList({ sql, account }: SegmentContext, name: string) {
  const [row] = await sql<{ listId: string }[]>`
    select list_id as "listId" from audience_sync.named_lists
    where account = ${account} and name = ${name}`;
  return row && { id: row.listId, name };
}

async function getSegment(
  { client }: SegmentContext,
  listId: string,
): Promise<PlatformList | null> {
  const { answer, kind } = await client.idempotent('segments.get', (signal) =>
    client.sdk.segments.get(listId, { signal }),
  );
  // Resend answers 422 for an id that is not a segment id at all: no such list either.
  if (kind === 'not_found' || kind === 'rejected') return null;
  if (answer.error || !answer.data) {
    throw platformUnavailable(`Resend segments.get answered ${answer.error?.name}`);
  }
  return { id: answer.data.id, name: answer.data.name };
}

/** Creates the run's new segment once, whatever happens to the answers. */
async function createForRun(
  context: SegmentContext,
  runId: string,
  name: string,
): Promise<PlatformList> {
  const { sql } = context;
  return withNameLock(context, name, async () => {
    const [attempt] = await sql<{ existingListIds: string[]; listId: string | null }[]>`
      select existing_list_ids as "existingListIds", list_id as "listId"
      from audience_sync.list_creates where run_id = ${runId}`;
    if (attempt?.listId) return { id: attempt.listId, name };
    if (attempt) {
      const own = await findOwnCreated(context, name, attempt.existingListIds);
      if (own) return own;
    } else {
      const existing = await findByName(context, name);
      await sql`
        insert into audience_sync.list_creates (run_id, existing_list_ids)
        values (${runId}, ${existing.map((list) => list.id)})
        on conflict do nothing`;
    }
    const created = await create(context, name);
    await sql`
      update audience_sync.list_creates set list_id = ${created.id}
      where run_id = ${runId}`;
    return created;
  });
}

/** Read only: the segment `findOrCreate` would answer, if it exists already. */
async function find(context: SegmentContext, name: string): Promise<PlatformList | null> {
  const remembered = await rememberedList(context, name);
  if (remembered) return remembered;
  const [existing] = await findByName(context, name);
  return existing ?? null;
}

/**
 * The segment named exactly `name` (a tag), found or created once per account: two runs
 * starting together with the same new tag make one segment.
 */
async function findOrCreate(context: SegmentContext, name: string): Promise<PlatformList> {
  const { sql, account } = context;
  const cached = await rememberedList(context, name);
  if (cached) return cached;
  return withNameLock(context, name, async () => {
    const again = await rememberedList(context, name);
    if (again) return again;
    // The oldest segment with the name: the one found or created by an earlier attempt.
    const [existing] = await findByName(context, name);
    const list = existing ?? (await create(context, name));
    await sql`
      insert into audience_sync.named_lists (account, name, list_id)
      values (${account}, ${name}, ${list.id})
      on conflict (account, name) do nothing`;
    return list;
  });
}

export function createSegments(sql: Sql, client: ResendClient, account: string) {
  const context: SegmentContext = { sql, client, account };
  return {
    get: (listId: string) => getSegment(context, listId),
    createForRun: (runId: string, name: string) => createForRun(context, runId, name),
    find: (name: string) => find(context, name),
    findOrCreate: (name: string) => findOrCreate(context, name),
  };
}
