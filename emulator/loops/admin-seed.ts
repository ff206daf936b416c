import { AdminError } from '../common/admin-error.js';
import type { LoopsCore } from './core.js';
import { LoopsError } from './errors.js';
import { readContactChanges } from './routes/contact-fields.js';
import type { ContactChanges } from './store/records.js';

function plan(
  core: LoopsCore,
  row: unknown,
  index: number,
  userIds: Set<string>,
): ContactChanges & { email: string } {
  if (!row || typeof row !== 'object' || Array.isArray(row)) {
    throw new AdminError(400, `contacts.${index}: must be an object.`);
  }
  let changes: ContactChanges;
  try {
    changes = readContactChanges(
      { store: core.store, requireDefinedProperties: core.settings.requireDefinedProperties },
      row as Record<string, unknown>,
    );
  } catch (error) {
    if (error instanceof LoopsError)
      throw new AdminError(400, `contacts.${index}: ${error.message}`);
    throw error;
  }
  if (changes.email === undefined)
    throw new AdminError(400, `contacts.${index}: email is required.`);
  if (changes.userId !== undefined) {
    const owner = core.store.find({ userId: changes.userId });
    const taken = owner && owner.emailKey !== changes.email.toLowerCase();
    if (taken || userIds.has(changes.userId)) {
      throw new AdminError(400, `contacts.${index}: userId ${changes.userId} is taken.`);
    }
    userIds.add(changes.userId);
  }
  return { ...changes, email: changes.email };
}

/**
 * Loads contacts without the rate limit or webhooks: rows shaped like `POST /v1/contacts/create`
 * bodies, created or updated by email. Everything is checked before anything is written.
 */
export function bulkSeedContacts(
  core: LoopsCore,
  body: unknown,
): { created: number; ids: string[] } {
  const rows = body && typeof body === 'object' && 'contacts' in body ? body.contacts : undefined;
  if (!Array.isArray(rows)) throw new AdminError(400, 'The body must be { "contacts": [...] }.');
  const userIds = new Set<string>();
  const planned = rows.map((row, index) => plan(core, row, index, userIds));
  let created = 0;
  const ids = planned.map((changes) => {
    const existing = core.store.find({ email: changes.email });
    if (existing) {
      const { email: _key, ...rest } = changes;
      core.store.apply(existing, rest);
      return existing.id;
    }
    created += 1;
    return core.store.create(changes).id;
  });
  return { created, ids };
}
