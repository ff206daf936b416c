import { type ConsentState, type OptOutOrigin, recordConsentFact } from '../db/consent.js';
import type { Sql } from '../db/sql.js';
import type { MarketingPlatform } from './platforms/platform.js';

/**
 * What the platform said about a contact, as the reason a sync skips its user: deleted there
 * (never re-created, re-added or patched), suppressed (bounced or complained), or unsubscribed
 * there. Null: nothing stops the sync.
 */
export function platformSkipReason(state: ConsentState | undefined): string | null {
  if (!state) return null;
  if (state.deleted) return 'deleted_in_platform';
  if (state.suppressed) return 'suppressed';
  if (state.unsubscribed) return 'unsubscribed_in_platform';
  return null;
}

const ORIGIN_OF_REASON: Record<string, OptOutOrigin> = {
  deleted_in_platform: 'deleted',
  suppressed: 'suppressed',
  unsubscribed_in_platform: 'unsubscribed',
};

/** The origin an opt-outs feed entry has for a user skipped with this platformSkipReason. */
export const optOutOriginOf = (reason: string): OptOutOrigin =>
  ORIGIN_OF_REASON[reason] ?? 'unsubscribed';

/**
 * The platform no longer has a contact this service knew (its 404 for it, on a join, a patch or
 * a removal): recorded as deleted there, as a webhook's deletion would be, so that no run creates
 * it again until the app lifts it; the feed names its users.
 */
export async function recordDeletedOnPlatform(
  sql: Sql,
  platform: Pick<MarketingPlatform, 'name' | 'account'>,
  contact: { emailHash: string; contactId: string | null },
): Promise<void> {
  await recordConsentFact(
    sql,
    platform.account,
    { platform: platform.name, emailHash: contact.emailHash, contactId: contact.contactId },
    { kind: 'deleted' },
  );
}

/**
 * The platform's answer showed a contact unsubscribed (from everything, or from the list
 * `listId` where a list is a subscription): recorded as a webhook's unsubscribe would be, so the
 * feed names its users and no run puts it back.
 */
export async function recordUnsubscribedOnPlatform(
  sql: Sql,
  platform: Pick<MarketingPlatform, 'name' | 'account'>,
  contact: { emailHash: string; contactId: string; listId?: string | undefined },
): Promise<void> {
  await recordConsentFact(
    sql,
    platform.account,
    { platform: platform.name, emailHash: contact.emailHash, contactId: contact.contactId },
    { kind: 'unsubscribed', unsubscribed: true, listId: contact.listId },
  );
}
