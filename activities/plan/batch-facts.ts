import { emailHash, normaliseEmail } from '../../common/emails.js';
import { bulkCreatedAmong } from '../../db/bulk.js';
import { consentOf } from '../../db/consent.js';
import {
  lastSentFields,
  membersInEveryList,
  oldContactMemberships,
} from '../../db/contact-fields.js';
import { tombstonedEmailHashes } from '../../db/erasures.js';
import { claimEmails } from '../../db/outcomes.js';
import type { BatchUser } from '../../db/users-source.js';
import { decideLocally } from '../eligibility.js';
import type { FoundContact } from '../platforms/platform.js';
import type { BatchScope } from './apply-plan.js';
import { type BatchFacts, emailChanged, type OldContact } from './plan-batch.js';

/** A user the app lets the batch send, with its normalised email. */
interface Candidate {
  user: BatchUser;
  email: string;
  emailHash: string;
}

/**
 * Reads what the plan of these users is decided from: the run's claims of their emails (a
 * claim is made here, once per run and email), the ledger, consent and erasures, what was last
 * sent, and what the platform's directory knows (a look-up, no request; a dry run asks the
 * platform, read only, as a real run's create or join would find it).
 */
export async function readBatchFacts(scope: BatchScope, users: BatchUser[]): Promise<BatchFacts> {
  const { ctx, run } = scope;
  const candidates: Candidate[] = users
    .filter((user) => decideLocally(user).action === 'send')
    .map((user) => {
      const email = normaliseEmail(user.email ?? '');
      return { user, email, emailHash: emailHash(email) };
    });
  const oldContacts = await readOldContacts(scope, candidates);
  const owners = await claimEmails(
    ctx.sql,
    run.runId,
    candidates.map((one) => ({ emailHash: one.emailHash, userId: one.user.userId })),
  );
  const owned = candidates.filter((one) => owners.get(one.emailHash) === one.user.userId);
  const hashes = owned.map((one) => one.emailHash);
  const userIds = owned.map((one) => one.user.userId);
  const erased = await tombstonedEmailHashes(ctx.sql, hashes);
  const bulkCreated = await readBulkCreated(scope, owned, erased);
  const facts = {
    users,
    listIds: scope.listIds,
    owners,
    erased,
    oldContacts,
    bulkCreated,
    consent: await consentOf(ctx.sql, ctx.platform.name, ctx.platform.account, hashes),
    lastSent: await lastSentFields(ctx.sql, ctx.platform.account, userIds),
    // Users a bulk job created are planned as such: the ledger is not asked about them (at a
    // chunk's scale that look-up cost more than the job).
    present: await readPresent(
      scope,
      owned.filter((one) => !bulkCreated.has(one.user.userId)),
    ),
  };
  const toMeet = owned.filter(
    (one) => !facts.present.has(one.user.userId) && !facts.bulkCreated.has(one.user.userId),
  );
  return { ...facts, directory: await readDirectory(scope, toMeet, facts.lastSent) };
}

/**
 * The old contact of each user whose email changed since this service put it into the run's
 * lists: its id is the ledger's or, when the ledger knows it by its email only (a contact a bulk
 * import created), the platform directory's; with the memberships it holds through the user.
 */
async function readOldContacts(
  scope: BatchScope,
  candidates: Candidate[],
): Promise<Map<string, OldContact>> {
  const { ctx, run } = scope;
  const old = new Map<string, OldContact>();
  // Where contacts follow the user's id, a new email is an update of that same contact.
  if (ctx.platform.contactsFollowUsers) return old;
  const movers = candidates.filter((one) => emailChanged(one.user)).map((one) => one.user);
  if (movers.length === 0) return old;
  const withoutIds = movers.flatMap((user) =>
    user.listContactId ? [] : [user.listEmailHash ?? ''],
  );
  // Old contacts exist on the platform: what the directory passed over unread is read first.
  const directory =
    withoutIds.length > 0
      ? await ctx.platform.knownContacts?.(withoutIds, { onPlatform: true })
      : undefined;
  for (const user of movers) {
    const emailHash = user.listEmailHash ?? '';
    const contactId = user.listContactId ?? directory?.get(emailHash) ?? null;
    const memberships = contactId
      ? await oldContactMemberships(ctx.sql, run.platform, scope.listIds, user.userId, {
          emailHash,
          contactId,
        })
      : [];
    old.set(user.userId, { emailHash, contactId, memberships: [...memberships] });
  }
  return old;
}

/**
 * The users a bulk chunk of the run created, with the id the directory has for the contact (the
 * chunk learned the newest contacts; null when it does not know it yet). Users erased since are
 * left out: they go the per-contact way, which skips them.
 */
async function readBulkCreated(
  scope: BatchScope,
  owned: Candidate[],
  erased: ReadonlySet<string>,
): Promise<Map<string, string | null>> {
  const { ctx, run } = scope;
  const created = await bulkCreatedAmong(
    ctx.sql,
    run.runId,
    owned.map((one) => one.user.userId),
  );
  const taken = owned.filter((one) => created.has(one.user.userId) && !erased.has(one.emailHash));
  if (taken.length === 0) return new Map();
  const ids = (await ctx.platform.knownContacts?.(taken.map((one) => one.emailHash))) ?? new Map();
  return new Map(taken.map((one) => [one.user.userId, ids.get(one.emailHash) ?? null]));
}

/**
 * The users the ledger has in every list of the run with their current email, by contact id. A
 * member the ledger knows by its email only (a bulk import created it) gets the id the platform's
 * directory has for that email (a look-up, no request); null when it does not know it yet.
 */
async function readPresent(
  scope: BatchScope,
  owned: Candidate[],
): Promise<Map<string, string | null>> {
  const { ctx, run } = scope;
  const present = await membersInEveryList(
    ctx.sql,
    run.platform,
    [...new Set(scope.listIds)],
    owned.map((one) => ({ userId: one.user.userId, emailHash: one.emailHash })),
  );
  const withoutIds = owned.filter(
    (one) => present.has(one.user.userId) && present.get(one.user.userId) === null,
  );
  if (withoutIds.length === 0) return present;
  const known = await ctx.platform.knownContacts?.(withoutIds.map((one) => one.emailHash));
  for (const one of withoutIds) {
    present.set(one.user.userId, known?.get(one.emailHash) ?? null);
  }
  return present;
}

/**
 * What the platform has of these users' emails, by user id: a dry run asks the platform (read
 * only, after it learned its newest contacts), with the fields it has empty; a run looks its
 * directory up (no request), and the platform's answer to the create or join is what counts. A
 * platform without a directory joins the contact this service last sent the user's fields to.
 */
async function readDirectory(
  scope: BatchScope,
  toMeet: Candidate[],
  lastSent: BatchFacts['lastSent'],
): Promise<Map<string, FoundContact>> {
  const { ctx, run } = scope;
  if (toMeet.length === 0) return new Map();
  if (run.dryRun) {
    if (!ctx.platform.findContacts) return new Map();
    return ctx.platform.findContacts(
      toMeet.map(({ user, email }) => ({
        userId: user.userId,
        email,
        firstName: user.firstName,
        lastName: user.lastName,
        properties: user.properties,
      })),
    );
  }
  const known = ctx.platform.knownContacts
    ? await ctx.platform.knownContacts(toMeet.map((one) => one.emailHash))
    : lastSentContacts(toMeet, lastSent);
  return new Map(
    toMeet.flatMap((one) => {
      const contactId = known.get(one.emailHash);
      return contactId ? [[one.user.userId, { contactId }] as const] : [];
    }),
  );
}

/** By email hash, the contacts this service last sent these users' fields to, at that email. */
function lastSentContacts(
  users: Candidate[],
  lastSent: BatchFacts['lastSent'],
): Map<string, string> {
  return new Map(
    users.flatMap((one) => {
      const sent = lastSent.get(one.user.userId);
      return sent?.contactId && sent.emailHash === one.emailHash
        ? [[one.emailHash, sent.contactId] as const]
        : [];
    }),
  );
}
