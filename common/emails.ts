import { createHash } from 'node:crypto';

/**
 * Emails are compared and sent trimmed of spaces and with ASCII letters lowercased, and nothing
 * else: the same normalisation as `normalisedEmailSql` (users-contract.ts), whatever the database's
 * locale. A Unicode case mapping would fold some letters into ASCII (U+212A KELVIN SIGN into `k`),
 * so one person's address could stand for another's contact; such addresses keep their letters,
 * fail the users contract's pattern, and are `invalid_email`.
 */
export const normaliseEmail = (email: string): string =>
  email.replace(/^ +| +$/g, '').replace(/[A-Z]+/g, (letters) => letters.toLowerCase());

/** Hex SHA-256 of the normalised email: the service's tables never store the address itself. */
export const emailHash = (email: string): string =>
  createHash('sha256').update(normaliseEmail(email)).digest('hex');
