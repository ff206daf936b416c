import { createHash } from 'node:crypto';

/** Emails are compared and sent trimmed and lowercased: two users with one email make one contact. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** Hex SHA-256 of the normalised email: the service's tables never store the address itself. */
export const emailHash = (email: string): string =>
  createHash('sha256').update(normaliseEmail(email)).digest('hex');
