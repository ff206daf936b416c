import type { PlannedAdd } from '../common/plan.js';
import type { ListRef, UserOutcome } from '../db/outcomes.js';
import { recordPlannedOutcome } from '../db/plans.js';
import type { Sql } from '../db/sql.js';
import type { MarketingPlatform } from './platforms/platform.js';

/** How a batch stores its users' outcomes; a dry run stores them as its plan instead. */
export interface OutcomeRecorder {
  record(runId: string, list: ListRef, userId: string, result: UserOutcome): Promise<void>;
  /** A user sharing an email with `ownerId`, an earlier user of the run. */
  duplicate(runId: string, list: ListRef, userId: string, ownerId: string): Promise<void>;
}

/** A write a dry run must never make: the platform refuses it here, before any request. */
export class DryRunWriteError extends Error {
  override name = 'DryRunWriteError';
  constructor(operation: string) {
    super(`A dry run writes nothing to the platform; ${operation} was refused`);
  }
}

/**
 * The platform as a dry run sees it: reads go to the real platform, writes are never sent. Where
 * the batch would write, the answer is the one the platform gives when nothing changed meanwhile
 * (a known contact joins, an unknown one is created, a patch, removal or unsubscribe is done), so
 * the batch decides every user exactly as a real run would. `planned` learns which users would be
 * created and which would join. Everything else that writes throws.
 */
export function planningPlatform(
  platform: MarketingPlatform,
  planned: Map<string, PlannedAdd>,
): MarketingPlatform {
  const refuse = (operation: string) => async (): Promise<never> => {
    throw new DryRunWriteError(operation);
  };
  const { findContacts, findList } = platform;
  if (!findContacts || !findList) {
    throw new DryRunWriteError(`planning on ${platform.name}, which cannot answer reads for it,`);
  }
  const allDone = async <T extends { userId: string } | { contact: { userId: string } }>(
    items: T[],
    onOutcome: (userId: string, outcome: { kind: 'done' }) => Promise<void>,
  ) => {
    for (const item of items) {
      await onOutcome('userId' in item ? item.userId : item.contact.userId, { kind: 'done' });
    }
  };
  return {
    name: platform.name,
    account: platform.account,
    ...(platform.contactsFollowUsers ? { contactsFollowUsers: true } : {}),
    ...(platform.prepare ? { prepare: platform.prepare.bind(platform) } : {}),
    getList: (listId) => platform.getList(listId),
    findList: (name) => findList.call(platform, name),
    findContacts: (contacts) => findContacts.call(platform, contacts),
    createRunList: refuse('creating a list'),
    findOrCreateList: refuse('creating a tag list'),
    defineProperties: refuse('defining properties'),
    deleteContacts: refuse('deleting contacts'),
    async syncContacts(contacts, _listIds, onOutcome) {
      if (contacts.length === 0) return;
      const found = await findContacts.call(platform, contacts);
      for (const contact of contacts) {
        const existing = found.get(contact.userId);
        planned.set(contact.userId, existing ? 'join' : 'create');
        await onOutcome(
          contact.userId,
          existing
            ? {
                kind: 'joined',
                contactId: existing.contactId,
                ...(existing.emptyFields ? { emptyFields: existing.emptyFields } : {}),
              }
            : { kind: 'created', contactId: null },
        );
      }
    },
    patchContacts: (patches, onOutcome) => allDone(patches, onOutcome),
    removeFromList: (contacts, _listId, onOutcome) => allDone(contacts, onOutcome),
    markUnsubscribed: (contacts, onOutcome) => allDone(contacts, onOutcome),
  };
}

/** A dry run's recorder: each outcome becomes a plan row (never the ledger or contact fields). */
export function planRecorder(sql: Sql, planned: Map<string, PlannedAdd>): OutcomeRecorder {
  return {
    record: (runId, _list, userId, result) =>
      recordPlannedOutcome(sql, runId, userId, result, planned.get(userId) ?? null),
    duplicate: (runId, _list, userId) =>
      recordPlannedOutcome(
        sql,
        runId,
        userId,
        { outcome: 'skipped', reason: 'duplicate_email' },
        null,
      ),
  };
}
