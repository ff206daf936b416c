import { configuredPlatforms } from '../../worker/worker.js';
import {
  type AppStack,
  type AppStackOptions,
  emulatedContacts,
  emulatorAdmin,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
} from './app-stack.js';
import { createMailingList, loopsAdmin, loopsContacts, loopsRequests } from './loops-admin.js';
import { type MemoryPlatformModule, memoryPlatformModule } from './memory-platform.js';
import { MemoryStore } from './memory-store.js';
import { type RunningWorker, startTestWorker } from './stack.js';

/** A contact as a platform holds it, in the same words for every platform. */
export interface ContactView {
  /** Lowercased. */
  email: string;
  firstName: string | null;
  lastName: string | null;
  unsubscribed: boolean;
}

/** A contact that exists on the platform before a test's sync. */
export interface ExistingContact {
  email: string;
  firstName: string | null;
  lastName: string | null;
  unsubscribed: boolean;
}

/**
 * What the shared sync tests ask of a platform, answered from the platform's own state (the
 * emulator's admin API, or the memory store): never from the service's tables.
 */
export interface PlatformUnderTest {
  readonly name: string;
  /** The members of a list, sorted by email. */
  members(listId: string): Promise<ContactView[]>;
  /** Every contact of the account. */
  contacts(): Promise<ContactView[]>;
  /** Ids of the lists named exactly `name`. */
  listsNamed(name: string): Promise<string[]>;
  seedContacts(contacts: ExistingContact[]): Promise<void>;
  /** Deletes a contact as someone would in the platform's own UI (no webhook reaches us). */
  deleteContact(email: string): Promise<void>;
  /** A point in the platform's request log. */
  mark(): Promise<number>;
  /**
   * Per lowercased email, since `mark`: create or upsert requests the platform took in (not
   * those refused before anything happened), and those that created the contact.
   */
  contactWrites(
    since: number,
  ): Promise<{ sent: Map<string, number>; created: Map<string, number> }>;
  /** The requests since `mark` that could change anything, as `operation target`. */
  writesSince(since: number): Promise<string[]>;
  /** Outages on a share of requests, and writes that happen but lose their answer. */
  injectFaults(seed: number): void;
  clearFaults(): void;
  /** The kinds of fault seen since `mark`. */
  faultsSince(since: number): Promise<string[]>;
  /** The kinds `injectFaults` must have produced in a run of a few hundred contacts. */
  readonly expectedFaults: readonly string[];
  /**
   * The platform's module reads contacts' `unsubscribed` flags (Resend's contact directory), so
   * a sync skips users whose contact is unsubscribed there (`unsubscribed_in_platform`).
   */
  readonly skipsUnsubscribedContacts: boolean;
  /**
   * The list part of a sync into a new list named `name`: the sync creates it where the platform
   * can; elsewhere (Loops' mailing lists) it is made first, as a person makes one in the
   * platform's dashboard, and the sync names it by id.
   */
  newList(name: string): Promise<{ listName: string; listId?: string }>;
  /** Tags are lists of that name on the platform (found or created once). */
  readonly tagsAsLists: boolean;
}

/** The list part of a sync into a new list the sync creates. */
const createdBySync = async (name: string) => ({ listName: name });

const byEmail = (a: ContactView, b: ContactView) =>
  a.email < b.email ? -1 : a.email > b.email ? 1 : 0;

export function resendUnderTest(app: AppStack): PlatformUnderTest {
  const { emulator } = app;
  const view = (contact: Awaited<ReturnType<typeof emulatedContacts>>[number]): ContactView => ({
    email: contact.email.toLowerCase(),
    firstName: contact.first_name,
    lastName: contact.last_name,
    unsubscribed: contact.unsubscribed,
  });
  const since = (mark: number) => `&since_seq=${mark}`;
  /** Answers that never reached Resend's handlers. */
  const turnedAway = new Set([
    'rate_limited',
    'storm_rate_limited',
    'server_error',
    'unauthorized',
  ]);
  return {
    name: 'resend',
    async members(listId) {
      return (await emulatedContacts(emulator, `&segment_id=${listId}`)).map(view).sort(byEmail);
    },
    async contacts() {
      return (await emulatedContacts(emulator)).map(view);
    },
    async listsNamed(name) {
      const segments = await emulatorAdmin<{ data: { id: string; name: string }[] }>(
        emulator,
        '/segments',
      );
      return segments.data.filter((segment) => segment.name === name).map(({ id }) => id);
    },
    async seedContacts(contacts) {
      await seedEmulatorContacts(
        emulator,
        contacts.map((contact) => ({
          email: contact.email,
          first_name: contact.firstName,
          last_name: contact.lastName,
          unsubscribed: contact.unsubscribed,
        })),
      );
    },
    async deleteContact(email) {
      const response = await fetch(`${emulator.url}/_emulator/contacts/delete`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      });
      if (!response.ok) throw new Error(`deleting ${email} answered ${response.status}`);
    },
    async mark() {
      return (await requestLog(emulator)).at(-1)?.seq ?? 0;
    },
    async contactWrites(mark) {
      const sent = new Map<string, number>();
      const created = new Map<string, number>();
      const log = await requestLog(emulator, `&method=POST&path_prefix=/contacts${since(mark)}`);
      for (const entry of log) {
        if (entry.path !== '/contacts' || !entry.key || turnedAway.has(entry.outcome)) continue;
        const email = entry.key.toLowerCase();
        sent.set(email, (sent.get(email) ?? 0) + 1);
        if (entry.outcome === 'ok' || entry.outcome === 'accept_then_fail') {
          created.set(email, (created.get(email) ?? 0) + 1);
        }
      }
      return { sent, created };
    },
    async writesSince(mark) {
      return (await requestLog(emulator, since(mark)))
        .filter((entry) => entry.method !== 'GET')
        .map((entry) => `${entry.method} ${entry.path}`);
    },
    injectFaults(seed) {
      emulator.setFaults(
        {
          serverErrorRate: 0.05,
          acceptThenFailRate: 0.1,
          acceptThenFailRoute: { method: 'POST', path: '/contacts' },
        },
        seed,
      );
    },
    clearFaults() {
      emulator.setFaults({});
    },
    async faultsSince(mark) {
      const outcomes = (await requestLog(emulator, since(mark))).map((entry) => entry.outcome);
      return [...new Set(outcomes)].filter((outcome) => outcome !== 'ok').sort();
    },
    expectedFaults: ['accept_then_fail', 'server_error'],
    skipsUnsubscribedContacts: true,
    newList: createdBySync,
    tagsAsLists: true,
  };
}

export function memoryUnderTest(module: MemoryPlatformModule): PlatformUnderTest {
  const { store } = module;
  const view = (member: ReturnType<MemoryStore['allMembers']>[number]): ContactView => ({
    email: member.email.toLowerCase(),
    firstName: member.firstName,
    lastName: member.lastName,
    unsubscribed: member.status === 'unsubscribed',
  });
  /** How often the platform had given up on a call (and failed its batch) at each mark. */
  const gaveUpAt = new Map<number, number>();
  return {
    name: module.name,
    async members(listId) {
      return store.membersOf(listId).map(view).sort(byEmail);
    },
    async contacts() {
      return store.allMembers().map(view);
    },
    async listsNamed(name) {
      return store.listsNamed(name).map(({ id }) => id);
    },
    async seedContacts(contacts) {
      store.seed(
        contacts.map((contact) => ({
          email: contact.email,
          firstName: contact.firstName,
          lastName: contact.lastName,
          status: contact.unsubscribed ? 'unsubscribed' : 'subscribed',
        })),
      );
    },
    async deleteContact(email) {
      if (!store.remove(email)) throw new Error(`no member ${email} to delete`);
    },
    async mark() {
      const mark = store.mark();
      gaveUpAt.set(mark, module.stats.unavailable);
      return mark;
    },
    async contactWrites(mark) {
      return store.upserts(mark);
    },
    async writesSince(mark) {
      return store
        .callsSince(mark)
        .filter((call) => call.wrote)
        .map((call) => `${call.op} ${call.emails.join(',')}`);
    },
    injectFaults(seed) {
      store.setFaults(
        {
          outageRate: 0.05,
          lostAnswerRate: { putMember: 0.2, addToList: 0.3, createList: 1 },
          // Ten connections times four tries: the calls in flight then fail all their tries, so
          // the batch fails once with an outage and Temporal retries it.
          outageBurst: { fromCall: 300, calls: 40 },
        },
        seed,
      );
    },
    clearFaults() {
      store.clearFaults();
    },
    async faultsSince(mark) {
      const kinds = new Set<string>(
        store
          .callsSince(mark)
          .map((call) => call.outcome)
          .filter(
            (outcome) => outcome !== 'ok' && outcome !== 'refused' && outcome !== 'not_found',
          ),
      );
      if (module.stats.unavailable > (gaveUpAt.get(mark) ?? 0)) kinds.add('batch_failed');
      return [...kinds].sort();
    },
    expectedFaults: ['batch_failed', 'lost_answer', 'outage'],
    skipsUnsubscribedContacts: false,
    newList: createdBySync,
    tagsAsLists: true,
  };
}

/** Answers that never reached the emulator's handlers. */
const TURNED_AWAY = new Set(['rate_limited', 'storm_rate_limited', 'server_error', 'unauthorized']);

/** Loops through its emulator: mailing lists made as a person makes them, no tag lists. */
export function loopsUnderTest(app: AppStack): PlatformUnderTest {
  const loops = app.loops;
  if (!loops) throw new Error('the stack runs no Loops emulator');
  const view = (contact: Awaited<ReturnType<typeof loopsContacts>>[number]): ContactView => ({
    email: contact.email.toLowerCase(),
    firstName: contact.firstName,
    lastName: contact.lastName,
    unsubscribed: !contact.subscribed,
  });
  return {
    name: 'loops',
    async members(listId) {
      return (await loopsContacts(loops, `&listId=${listId}`)).map(view).sort(byEmail);
    },
    async contacts() {
      return (await loopsContacts(loops)).map(view);
    },
    async listsNamed(name) {
      const lists = await loopsAdmin<{ data: { id: string; name: string }[] }>(
        loops,
        'GET',
        '/lists',
      );
      return lists.data.filter((list) => list.name === name).map(({ id }) => id);
    },
    async seedContacts(contacts) {
      await loopsAdmin(loops, 'POST', '/contacts/bulk', {
        contacts: contacts.map((contact) => ({
          email: contact.email,
          firstName: contact.firstName,
          lastName: contact.lastName,
          subscribed: !contact.unsubscribed,
        })),
      });
    },
    async deleteContact(email) {
      await loopsAdmin(loops, 'POST', '/contacts/delete', { email });
    },
    async mark() {
      return (await loopsRequests(loops)).at(-1)?.seq ?? 0;
    },
    async contactWrites(mark) {
      const sent = new Map<string, number>();
      const created = new Map<string, number>();
      for (const entry of await loopsRequests(loops, mark)) {
        const write = entry.path === '/v1/contacts/create' || entry.path === '/v1/contacts/update';
        if (!write || !entry.key?.includes('@') || TURNED_AWAY.has(entry.outcome)) continue;
        const email = entry.key.toLowerCase();
        sent.set(email, (sent.get(email) ?? 0) + 1);
        const madeIt = entry.status === 200 || entry.outcome === 'accept_then_fail';
        if (entry.path === '/v1/contacts/create' && madeIt) {
          created.set(email, (created.get(email) ?? 0) + 1);
        }
      }
      return { sent, created };
    },
    async writesSince(mark) {
      return (await loopsRequests(loops, mark))
        .filter((entry) => entry.method !== 'GET')
        .map((entry) => `${entry.method} ${entry.path}`);
    },
    injectFaults(seed) {
      loops.setFaults(
        {
          serverErrorRate: 0.05,
          acceptThenFailRate: 0.1,
          acceptThenFailRoute: { method: 'POST', path: '/v1/contacts/create' },
        },
        seed,
      );
    },
    clearFaults() {
      loops.setFaults({});
    },
    async faultsSince(mark) {
      const outcomes = (await loopsRequests(loops, mark)).map((entry) => entry.outcome);
      return [...new Set(outcomes)].filter((outcome) => outcome !== 'ok').sort();
    },
    expectedFaults: ['accept_then_fail', 'server_error'],
    skipsUnsubscribedContacts: true,
    async newList(name) {
      const list = await createMailingList(loops, name);
      return { listName: '', listId: list.id };
    },
    tagsAsLists: false,
  };
}

/**
 * The app stack (database, Resend and Loops emulators, API, Temporal client) with one worker in
 * this process that serves the configured platforms and the in-memory one.
 */
export interface PlatformsStack {
  app: AppStack;
  memory: MemoryPlatformModule;
  worker: RunningWorker;
  /** Resend and Loops through their emulators, and the in-memory platform. */
  platforms: PlatformUnderTest[];
  stop(): Promise<void>;
}

export async function startPlatformsStack(
  options: Omit<AppStackOptions, 'inProcessWorker'> = {},
): Promise<PlatformsStack> {
  const app = await startAppStack({
    ...options,
    loops: { rateLimit: options.emulator?.rateLimit ?? 200, ...options.loops },
    inProcessWorker: false,
  });
  const memory = memoryPlatformModule(new MemoryStore({ maxConnections: 10 }));
  const worker = await startTestWorker(app.workerConfig, app.db.sql, [
    ...(await configuredPlatforms(app.workerConfig)),
    memory,
  ]);
  return {
    app,
    memory,
    worker,
    platforms: [resendUnderTest(app), loopsUnderTest(app), memoryUnderTest(memory)],
    async stop() {
      await worker.stop();
      await app.stop();
    },
  };
}
