/**
 * A dry run's plan: what a real run with the same request would do, per class of user, with up to
 * PLAN_SAMPLE_SIZE user ids per class. It travels in the run's result (Temporal history), so it
 * holds user ids and counts only.
 */

/** User ids a plan names per class, at most. */
export const PLAN_SAMPLE_SIZE = 20;

/**
 * How a dry run recorded a user it would add (`run_users.planned`): `create` a new contact,
 * `join` an existing contact to the list, `present` already in the list through this service.
 * `updated` on the same row says its fields would be patched.
 */
export const PLANNED_ADDS = ['create', 'join', 'present'] as const;
export type PlannedAdd = (typeof PLANNED_ADDS)[number];

export interface PlanClass {
  count: number;
  /** The first user ids of the class, by user id. */
  userIds: string[];
}

export interface RunPlan {
  /** The destination: an existing list read, or a list a real run would create. */
  list: { id: string | null; name: string; create: boolean };
  /** Tag lists a real run would create (they do not exist yet). */
  tagsToCreate: string[];
  create: PlanClass;
  join: PlanClass;
  /** Already in the list through this service, nothing to send (unless in `update`). */
  present: PlanClass;
  /** Of create/join/present: users whose fields would be patched (`join` and `present` only). */
  update: PlanClass;
  /** Mirror: contacts that would leave the list. */
  remove: PlanClass;
  /** Contacts that would be marked unsubscribed: opted-out members and opted-out leavers. */
  unsubscribe: PlanClass;
  skipped: { count: number; byReason: Record<string, PlanClass> };
  failed: { count: number; byReason: Record<string, PlanClass> };
  /** Mirror: the removal guard as a real run would meet it; `tripped`: it would remove none. */
  removalGuard?: { tracked: number; wouldRemove: number; maxRemovals: number; tripped: boolean };
}

/** One class of a dry run's users as the database groups them. */
export interface PlanRow {
  kind:
    | PlannedAdd
    | 'update'
    | 'remove'
    | 'unsubscribe'
    | 'unsubscribe_leaver'
    | 'skipped'
    | 'failed';
  /** For skipped and failed. */
  reason: string | null;
  count: number;
  /** The first user ids of the class, sorted. */
  userIds: string[];
}

const emptyClass = (): PlanClass => ({ count: 0, userIds: [] });

/** Two samples as one: the first PLAN_SAMPLE_SIZE ids of both, by id. */
const mergeClass = (a: PlanClass, b: PlanClass): PlanClass => ({
  count: a.count + b.count,
  userIds: [...new Set([...a.userIds, ...b.userIds])]
    .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
    .slice(0, PLAN_SAMPLE_SIZE),
});

/**
 * The plan from its grouped rows. Population users are in exactly one of create, join, present,
 * skipped and failed (`update` overlaps join and present); leavers are in `remove`, and opted-out
 * users whose contact would be marked unsubscribed (members still in the population and leavers
 * alike) in `unsubscribe`.
 */
export function buildRunPlan(
  rows: PlanRow[],
  list: RunPlan['list'],
  tagsToCreate: string[] = [],
  removalGuard?: RunPlan['removalGuard'],
): RunPlan {
  const plan: RunPlan = {
    list,
    tagsToCreate,
    create: emptyClass(),
    join: emptyClass(),
    present: emptyClass(),
    update: emptyClass(),
    remove: emptyClass(),
    unsubscribe: emptyClass(),
    skipped: { count: 0, byReason: {} },
    failed: { count: 0, byReason: {} },
    ...(removalGuard ? { removalGuard } : {}),
  };
  for (const row of rows) {
    const one: PlanClass = { count: row.count, userIds: row.userIds.slice(0, PLAN_SAMPLE_SIZE) };
    if (row.kind === 'skipped' || row.kind === 'failed') {
      const group = plan[row.kind];
      const reason = row.reason ?? 'unknown';
      group.count += row.count;
      group.byReason[reason] = mergeClass(group.byReason[reason] ?? emptyClass(), one);
    } else {
      const kind = row.kind === 'unsubscribe_leaver' ? 'unsubscribe' : row.kind;
      plan[kind] = mergeClass(plan[kind], one);
    }
  }
  return plan;
}
