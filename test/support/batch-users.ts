import type { BatchUser } from '../../db/users-source.js';

/** A user as a batch reads it: found, active, sendable and never synced, unless overridden. */
export const batchUser = (overrides: Partial<BatchUser> = {}): BatchUser => ({
  userId: '1',
  found: true,
  deleted: false,
  active: true,
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  optedOut: false,
  validEmail: true,
  inList: false,
  listContactId: null,
  listEmailHash: null,
  listUnsubscribed: false,
  properties: {},
  ...overrides,
});
