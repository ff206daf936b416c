import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * An in-memory marketing platform shaped like Mailchimp's API, for tests of the platform boundary.
 * One audience per account holds the members (contacts), keyed by the hash of the lowercased
 * email; lists are static segments of it:
 *
 * - `putMember` upserts by email with `status_if_new`: a new member gets that status and the merge
 *   fields, an existing one keeps its status and its fields (as a batch subscribe with
 *   `update_existing: false` does; a real PUT would overwrite the merge fields it is given).
 *   Upserting an email twice writes it once.
 * - List membership and statuses change in bulk calls of up to 500 members.
 * - List creation is idempotent per key (an `Idempotency-Key`), not per name.
 * - An account may hold `maxConnections` calls open at once; one more is answered 429.
 *
 * Every call is one "request": it is logged, holds a connection while it runs, and may meet the
 * injected faults (503 outages, or a write whose answer is lost on the way back). Tests read the
 * state through the inspection methods, which are not calls.
 */

export const BULK_LIMIT = 500;

export type MemberStatus = 'subscribed' | 'unsubscribed';

export interface MergeFields {
  FNAME?: string;
  LNAME?: string;
}

export type Operation =
  | 'createList'
  | 'getList'
  | 'findLists'
  | 'putMember'
  | 'patchMember'
  | 'deleteMember'
  | 'updateStatuses'
  | 'addToList'
  | 'removeFromList';

const READ_OPERATIONS: ReadonlySet<Operation> = new Set(['getList', 'findLists']);
export const isWrite = (op: Operation): boolean => !READ_OPERATIONS.has(op);

export interface ApiError {
  title: string;
  detail: string;
}

/** What a call answers: its data, or an HTTP-like refusal. */
export type ApiAnswer<T> =
  | { status: 200; data: T }
  | { status: 400 | 404 | 429 | 503; error: ApiError };

/** The connection dropped after the request was sent: its write may have happened. */
export class ConnectionLost extends Error {
  override name = 'ConnectionLost';
}

export interface ListView {
  id: string;
  name: string;
}

export interface MemberView {
  id: string;
  /** As it was first given (case kept); members are matched by its lowercased form. */
  email: string;
  status: MemberStatus;
  firstName: string | null;
  lastName: string | null;
  /** Ids of the lists it is in. */
  lists: string[];
}

export type CallOutcome =
  | 'ok'
  | 'refused'
  | 'not_found'
  | 'outage'
  | 'lost_answer'
  | 'too_many_connections';

export interface CallRecord {
  seq: number;
  op: Operation;
  /** Lowercased emails the call was about (members unknown to the store by their id). */
  emails: string[];
  outcome: CallOutcome;
  /** The call changed the store. */
  wrote: boolean;
}

export interface MemoryFaults {
  /** Share of calls answered 503 before anything is done. */
  outageRate?: number;
  /** Per operation, the share of its writes that happen and then lose their answer. */
  lostAnswerRate?: Partial<Record<Operation, number>>;
  /** Calls number `fromCall` to `fromCall + calls - 1` (counted from `setFaults`) answer 503. */
  outageBurst?: { fromCall: number; calls: number };
}

export interface MemoryStoreOptions {
  maxConnections?: number;
  /** How long each call holds its connection, default 1 ms. */
  latencyMs?: number;
  /** Emails the platform refuses ("looks fake or invalid"), besides malformed ones. */
  refuse?: (email: string) => boolean;
}

export interface SeedMember {
  email: string;
  firstName?: string | null;
  lastName?: string | null;
  status?: MemberStatus;
  lists?: string[];
}

/** A small seeded PRNG (mulberry32): the same seed gives the same faults. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Mailchimp's subscriber hash: the MD5 of the lowercased email. */
export const memberId = (email: string): string =>
  createHash('md5').update(email.trim().toLowerCase()).digest('hex');

const VALID_EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

interface Member {
  id: string;
  email: string;
  status: MemberStatus;
  firstName: string | null;
  lastName: string | null;
}

interface StoredList {
  id: string;
  name: string;
  members: Set<string>;
}

type Handled<T> = { answer: ApiAnswer<T>; wrote: boolean };

const ok = <T>(data: T, wrote: boolean): Handled<T> => ({ answer: { status: 200, data }, wrote });
const refusal = <T>(status: 400 | 404, title: string, detail: string): Handled<T> => ({
  answer: { status, error: { title, detail } },
  wrote: false,
});
const tooMany = <T>(ids: string[]): Handled<T> | undefined =>
  ids.length > BULK_LIMIT
    ? refusal(400, 'Invalid Resource', `At most ${BULK_LIMIT} members per call`)
    : undefined;

export class MemoryStore {
  /** An id of this account, for the platform's account key. */
  readonly accountId = randomBytes(4).toString('hex');
  private readonly members = new Map<string, Member>();
  private readonly lists = new Map<string, StoredList>();
  private readonly listKeys = new Map<string, string>();
  private readonly log: CallRecord[] = [];
  private readonly maxConnections: number;
  private readonly latencyMs: number;
  private readonly refuse: (email: string) => boolean;
  private faults: MemoryFaults = {};
  private random = seededRandom(1);
  private callsSinceFaults = 0;
  private open = 0;
  private peak = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxConnections = options.maxConnections ?? 10;
    this.latencyMs = options.latencyMs ?? 1;
    this.refuse = options.refuse ?? (() => false);
  }

  // ---- The API: each method is one call. ----

  /** Creates a list; a key seen before answers the list it made, creating nothing. */
  createList(body: { name: string; idempotencyKey?: string }): Promise<ApiAnswer<ListView>> {
    return this.call('createList', [], () => {
      const known = body.idempotencyKey ? this.listKeys.get(body.idempotencyKey) : undefined;
      const existing = known ? this.lists.get(known) : undefined;
      if (existing) return ok(this.listView(existing), false);
      if (!body.name.trim()) return refusal(400, 'Invalid Resource', 'A list needs a name');
      const list = {
        id: randomBytes(5).toString('hex'),
        name: body.name,
        members: new Set<string>(),
      };
      this.lists.set(list.id, list);
      if (body.idempotencyKey) this.listKeys.set(body.idempotencyKey, list.id);
      return ok(this.listView(list), true);
    });
  }

  getList(listId: string): Promise<ApiAnswer<ListView>> {
    return this.call('getList', [], () => {
      const list = this.lists.get(listId);
      return list ? ok(this.listView(list), false) : refusal(404, 'Resource Not Found', listId);
    });
  }

  /** Lists named exactly `name`, oldest first. */
  findLists(name: string): Promise<ApiAnswer<{ lists: ListView[] }>> {
    return this.call('findLists', [], () => ok({ lists: this.listsNamed(name) }, false));
  }

  /** Creates the member when new (status_if_new, merge fields); an existing one stays as it is. */
  putMember(
    email: string,
    body: { status_if_new: MemberStatus; merge_fields?: MergeFields },
  ): Promise<ApiAnswer<{ id: string; status: MemberStatus; created: boolean }>> {
    const key = email.trim().toLowerCase();
    return this.call('putMember', [key], () => {
      if (!VALID_EMAIL.test(key) || this.refuse(key)) {
        return refusal(400, 'Invalid Resource', 'The email looks fake or invalid');
      }
      const id = memberId(key);
      const existing = this.members.get(id);
      if (existing) return ok({ id, status: existing.status, created: false }, false);
      this.members.set(id, {
        id,
        email: email.trim(),
        status: body.status_if_new,
        firstName: body.merge_fields?.FNAME || null,
        lastName: body.merge_fields?.LNAME || null,
      });
      return ok({ id, status: body.status_if_new, created: true }, true);
    });
  }

  /** Sets the given merge fields ('' clears one); never the status. */
  patchMember(id: string, mergeFields: MergeFields): Promise<ApiAnswer<{ id: string }>> {
    return this.call('patchMember', this.emailsOf([id]), () => {
      const member = this.members.get(id);
      if (!member) return refusal(404, 'Resource Not Found', id);
      if (mergeFields.FNAME !== undefined) member.firstName = mergeFields.FNAME || null;
      if (mergeFields.LNAME !== undefined) member.lastName = mergeFields.LNAME || null;
      return ok({ id }, true);
    });
  }

  /** Deletes the member permanently, from every list. */
  deleteMember(id: string): Promise<ApiAnswer<{ id: string }>> {
    return this.call('deleteMember', this.emailsOf([id]), () => {
      if (!this.members.delete(id)) return refusal(404, 'Resource Not Found', id);
      for (const list of this.lists.values()) list.members.delete(id);
      return ok({ id }, true);
    });
  }

  /** Sets the status of up to 500 members. */
  updateStatuses(
    ids: string[],
    status: MemberStatus,
  ): Promise<ApiAnswer<{ updated: string[]; not_found: string[] }>> {
    return this.call('updateStatuses', this.emailsOf(ids), () => {
      const refused = tooMany<{ updated: string[]; not_found: string[] }>(ids);
      if (refused) return refused;
      const updated: string[] = [];
      const notFound: string[] = [];
      for (const id of new Set(ids)) {
        const member = this.members.get(id);
        if (!member) notFound.push(id);
        else {
          member.status = status;
          updated.push(id);
        }
      }
      return ok({ updated, not_found: notFound }, updated.length > 0);
    });
  }

  /** Adds up to 500 members of the audience to a list. */
  addToList(
    listId: string,
    ids: string[],
  ): Promise<ApiAnswer<{ added: string[]; already_members: string[]; not_in_audience: string[] }>> {
    return this.call('addToList', this.emailsOf(ids), () => {
      const list = this.lists.get(listId);
      if (!list) return refusal(404, 'Resource Not Found', listId);
      const refused = tooMany<never>(ids);
      if (refused) return refused;
      const added: string[] = [];
      const already: string[] = [];
      const missing: string[] = [];
      for (const id of new Set(ids)) {
        if (!this.members.has(id)) missing.push(id);
        else if (list.members.has(id)) already.push(id);
        else {
          list.members.add(id);
          added.push(id);
        }
      }
      return ok({ added, already_members: already, not_in_audience: missing }, added.length > 0);
    });
  }

  /** Takes up to 500 members out of a list; they stay in the audience. */
  removeFromList(
    listId: string,
    ids: string[],
  ): Promise<ApiAnswer<{ removed: string[]; not_in_list: string[]; not_in_audience: string[] }>> {
    return this.call('removeFromList', this.emailsOf(ids), () => {
      const list = this.lists.get(listId);
      if (!list) return refusal(404, 'Resource Not Found', listId);
      const refused = tooMany<never>(ids);
      if (refused) return refused;
      const removed: string[] = [];
      const notInList: string[] = [];
      const missing: string[] = [];
      for (const id of new Set(ids)) {
        if (!this.members.has(id)) missing.push(id);
        else if (list.members.delete(id)) removed.push(id);
        else notInList.push(id);
      }
      return ok({ removed, not_in_list: notInList, not_in_audience: missing }, removed.length > 0);
    });
  }

  // ---- Faults. ----

  /** Replaces the faults; re-seeds their randomness when `seed` is given. */
  setFaults(faults: MemoryFaults, seed?: number): void {
    this.faults = faults;
    this.callsSinceFaults = 0;
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  clearFaults(): void {
    this.setFaults({});
  }

  // ---- Inspection and seeding: not calls, never faulty. ----

  /** Members that exist before a test's sync, as if made elsewhere. */
  seed(members: SeedMember[]): string[] {
    return members.map((seed) => {
      const id = memberId(seed.email);
      this.members.set(id, {
        id,
        email: seed.email.trim(),
        status: seed.status ?? 'subscribed',
        firstName: seed.firstName ?? null,
        lastName: seed.lastName ?? null,
      });
      for (const listId of seed.lists ?? []) this.lists.get(listId)?.members.add(id);
      return id;
    });
  }

  /** A member deleted by someone else (in the platform's own UI), from every list. */
  remove(email: string): boolean {
    const id = memberId(email);
    for (const list of this.lists.values()) list.members.delete(id);
    return this.members.delete(id);
  }

  member(email: string): MemberView | undefined {
    const member = this.members.get(memberId(email));
    return member && this.memberView(member);
  }

  allMembers(): MemberView[] {
    return [...this.members.values()].map((member) => this.memberView(member));
  }

  membersOf(listId: string): MemberView[] {
    const list = this.lists.get(listId);
    return [...(list?.members ?? [])].flatMap((id) => {
      const member = this.members.get(id);
      return member ? [this.memberView(member)] : [];
    });
  }

  listsNamed(name: string): ListView[] {
    return [...this.lists.values()]
      .filter((list) => list.name === name)
      .map((list) => this.listView(list));
  }

  /** Every call so far, in the order they arrived. */
  get calls(): readonly CallRecord[] {
    return this.log;
  }

  /** A point in the call log, for `callsSince`. */
  mark(): number {
    return this.log.length;
  }

  callsSince(mark: number): CallRecord[] {
    return this.log.slice(mark);
  }

  /**
   * Per lowercased email: upsert calls that reached the store (not those refused at the door
   * with a 503 or a 429), and those that created the member. Since a `mark`, or from the start.
   */
  upserts(since = 0): { sent: Map<string, number>; created: Map<string, number> } {
    const sent = new Map<string, number>();
    const created = new Map<string, number>();
    for (const call of this.log.slice(since)) {
      const email = call.emails[0];
      if (call.op !== 'putMember' || !email || call.outcome === 'outage') continue;
      if (call.outcome === 'too_many_connections') continue;
      sent.set(email, (sent.get(email) ?? 0) + 1);
      if (call.wrote) created.set(email, (created.get(email) ?? 0) + 1);
    }
    return { sent, created };
  }

  /** The most calls that were open at once. */
  get peakConnections(): number {
    return this.peak;
  }

  get openConnections(): number {
    return this.open;
  }

  // ---- The machinery of a call. ----

  private async call<T>(
    op: Operation,
    emails: string[],
    handle: () => Handled<T>,
  ): Promise<ApiAnswer<T>> {
    const seq = this.log.length + 1;
    const record = (outcome: CallOutcome, wrote: boolean) =>
      this.log.push({ seq, op, emails, outcome, wrote });
    const callNo = ++this.callsSinceFaults;
    if (this.open >= this.maxConnections) {
      record('too_many_connections', false);
      return {
        status: 429,
        error: {
          title: 'Too Many Requests',
          detail: `You have exceeded the limit of ${this.maxConnections} simultaneous connections`,
        },
      };
    }
    this.open += 1;
    this.peak = Math.max(this.peak, this.open);
    try {
      await sleep(this.latencyMs);
      const burst = this.faults.outageBurst;
      const inBurst = burst && callNo >= burst.fromCall && callNo < burst.fromCall + burst.calls;
      if (inBurst || this.random() < (this.faults.outageRate ?? 0)) {
        record('outage', false);
        return {
          status: 503,
          error: { title: 'Service Unavailable', detail: 'The platform is down for a moment' },
        };
      }
      const { answer, wrote } = handle();
      const lost = wrote && this.random() < (this.faults.lostAnswerRate?.[op] ?? 0);
      record(
        lost
          ? 'lost_answer'
          : answer.status === 200
            ? 'ok'
            : answer.status === 404
              ? 'not_found'
              : 'refused',
        wrote,
      );
      if (lost) throw new ConnectionLost(`The answer to ${op} was lost after its write`);
      return answer;
    } finally {
      this.open -= 1;
    }
  }

  private emailsOf(ids: string[]): string[] {
    return ids.map((id) => this.members.get(id)?.email.toLowerCase() ?? id);
  }

  private listView(list: StoredList): ListView {
    return { id: list.id, name: list.name };
  }

  private memberView(member: Member): MemberView {
    const lists = [...this.lists.values()]
      .filter((list) => list.members.has(member.id))
      .map((list) => list.id);
    return { ...member, lists };
  }
}
