import { emailHash } from '../common/emails.js';
import { type ContactDirectoryHooks, liftConsent } from './consent.js';
import { knownEmailHashes } from './erasures.js';
import type { Sql } from './sql.js';
import { findUser, usersSourceLoader } from './users-source.js';

export interface ConsentLiftDeps {
  sql: Sql;
  /** USERS_SOURCE: the lift names users as the app does. */
  usersSource: string;
  /** The platforms' contact directories, by platform: a lifted deletion leaves them. */
  directories?: Readonly<Record<string, ContactDirectoryHooks>>;
}

/**
 * `POST /api/marketing/opt-outs/:userId/lift`, the app's word that a person consented again. The
 * API calls it directly (no workflow): it reads the user's email, which never belongs in Temporal.
 */
export function createConsentLift(deps: ConsentLiftDeps) {
  const usersSource = usersSourceLoader(deps.sql, deps.usersSource);
  return {
    /**
     * Lifts the platform records of the user's emails (its current one, and those the service
     * has seen it with). Null when no user has this id.
     */
    async liftUser(id: string): Promise<{ userId: string; lifted: number } | null> {
      const user = await findUser(deps.sql, await usersSource(), id);
      if (!user) return null;
      const seen = (await knownEmailHashes(deps.sql, [user.userId])).get(user.userId);
      const hashes = new Set(seen);
      if (user.email) hashes.add(emailHash(user.email));
      const lifted = await liftConsent(deps.sql, user.userId, [...hashes], deps.directories);
      return { userId: user.userId, lifted };
    },
  };
}
