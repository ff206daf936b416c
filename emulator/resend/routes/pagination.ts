import type { Page, SeqList, Sequenced } from '../../common/seq-list.js';
import { MESSAGES, validationError } from '../errors.js';

export interface PaginationQuery {
  limit: number | undefined;
  after: string | undefined;
  before: string | undefined;
}

/**
 * Reads `limit` (1–100), `after` and `before` (one at most). Without `limit`, contact and segment
 * lists answer everything; newer endpoints pass their own default.
 */
export function readPagination(query: URLSearchParams, defaultLimit?: number): PaginationQuery {
  const rawLimit = query.get('limit');
  let limit = defaultLimit;
  if (rawLimit !== null) {
    limit = /^\d+$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
    if (!(limit >= 1 && limit <= 100)) throw validationError(MESSAGES.paginationLimit);
  }
  const after = query.get('after') ?? undefined;
  const before = query.get('before') ?? undefined;
  if (after !== undefined && before !== undefined) throw validationError(MESSAGES.bothCursors);
  return { limit, after, before };
}

/** One newest-first page; a cursor that names no item of this list is a 422. */
export function pageOf<T extends Sequenced>(
  list: SeqList<T>,
  pagination: PaginationQuery,
  find: (id: string) => T | undefined,
): Page<T> {
  const cursorName = pagination.after !== undefined ? 'after' : 'before';
  const cursorId = pagination.after ?? pagination.before;
  const cursor = cursorId === undefined ? undefined : find(cursorId);
  if (cursorId !== undefined && !cursor) throw unknownCursor(cursorName);
  const page = list.page({
    limit: pagination.limit,
    ...(cursor && pagination.after !== undefined ? { after: cursor } : {}),
    ...(cursor && pagination.before !== undefined ? { before: cursor } : {}),
  });
  if (!page) throw unknownCursor(cursorName);
  return page;
}

function unknownCursor(name: string) {
  return validationError(`The \`${name}\` cursor does not match any item in this list.`);
}

export function listBody<T>(page: Page<T>, toItem: (item: T) => unknown) {
  return { object: 'list', has_more: page.hasMore, data: page.items.map(toItem) };
}
