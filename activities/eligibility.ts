import type { UserOutcome } from '../db/outcomes.js';
import type { BatchUser } from '../db/users-source.js';

/**
 * What a run does with a user, decided from the users relation and the ledger alone, before any
 * platform is asked: send it, mark its contact unsubscribed (it opted out after this service put
 * it into the list), or end it here with an outcome.
 */
export type LocalDecision =
  | { action: 'send' }
  | { action: 'unsubscribe' }
  | { action: 'record'; outcome: Exclude<UserOutcome, { outcome: 'added' }> };

export function decideLocally(user: BatchUser): LocalDecision {
  const skip = (reason: string): LocalDecision => ({
    action: 'record',
    outcome: { outcome: 'skipped', reason },
  });
  if (!user.found) return skip('not_found');
  if (user.deleted) return skip('deleted');
  if (!user.active) return skip('inactive');
  if (user.optedOut) {
    return user.inList && !user.listUnsubscribed ? { action: 'unsubscribe' } : skip('opted_out');
  }
  if (!user.validEmail || !user.email) {
    return { action: 'record', outcome: { outcome: 'failed', reason: 'invalid_email' } };
  }
  return { action: 'send' };
}
