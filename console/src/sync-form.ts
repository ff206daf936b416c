import { parseUserIds } from './words.js';

/** The New sync form as typed: every field a string or a choice, as the inputs hold them. */
export interface SyncForm {
  platform: string;
  target: 'new' | 'existing';
  listName: string;
  listId: string;
  syncType: 'all' | 'new' | 'specific';
  userIds: string;
  filterActive: boolean;
  activeDays: string;
  mode: 'add' | 'mirror';
  maxRemovals: string;
  tags: string;
  properties: { key: string; column: string }[];
}

export const emptySyncForm = (): SyncForm => ({
  platform: 'resend',
  target: 'new',
  listName: '',
  listId: '',
  syncType: 'all',
  userIds: '',
  filterActive: false,
  activeDays: '30',
  mode: 'add',
  maxRemovals: '50%',
  tags: '',
  properties: [],
});

/**
 * The body of POST /api/marketing/sync for the form. Only what the marketer chose is sent, so
 * the API's defaults and its validation (with its own messages) decide the rest.
 */
export function syncBody(form: SyncForm): Record<string, unknown> {
  const body: Record<string, unknown> = { platform: form.platform, sync_type: form.syncType };
  if (form.target === 'existing') body.list_id = form.listId.trim();
  else if (form.listName.trim()) body.list_name = form.listName.trim();
  if (form.syncType === 'specific') body.user_ids = parseUserIds(form.userIds);
  if (form.filterActive) {
    body.filterActive = true;
    body.activeDays = wholeNumberOrText(form.activeDays);
  }
  if (form.mode === 'mirror') {
    body.mode = 'mirror';
    const guard = form.maxRemovals.trim();
    if (guard) body.max_removals = guard.endsWith('%') ? guard : wholeNumberOrText(guard);
  }
  const tags = form.tags
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (tags.length > 0) body.tags = tags;
  const properties = form.properties.filter((row) => row.key.trim() || row.column.trim());
  if (properties.length > 0) {
    body.properties = Object.fromEntries(
      properties.map((row) => [row.key.trim(), row.column.trim()]),
    );
  }
  return body;
}

/** A number when the text is one, else the text itself, so the API names what is wrong. */
function wholeNumberOrText(text: string): number | string {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** The preview's query: the users a sync with this filter would read. */
export function previewQuery(form: SyncForm): Record<string, string> {
  return form.filterActive
    ? { filterActive: 'true', activeDays: form.activeDays.trim() }
    : { filterActive: 'false' };
}
