/**
 * The vocabulary shared by the API, the workflow and the activities. Everything here may appear in
 * Temporal history, so it holds ids, options, cursors and counts only: never an email or a name.
 */

import type { RunPlan } from './plan.js';

/** A marketing platform's name, as the platform registry knows it. */
export type Platform = string;

export const SYNC_TYPES = ['all', 'new', 'specific'] as const;
export type SyncType = (typeof SYNC_TYPES)[number];

export type RunTrigger = 'api' | 'schedule';

/** `add`: a run only puts users into the list. `mirror`: it also takes out the ones who left. */
export const SYNC_MODES = ['add', 'mirror'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/**
 * The most contacts a mirror run may take out of the list: a whole number, or a share like
 * `"20%"` of the list's tracked members.
 */
export type MaxRemovals = number | `${number}%`;
export const DEFAULT_MAX_REMOVALS: MaxRemovals = '50%';

/**
 * The id a dry run plans against for a list a real run would create (no list has it, so nobody is
 * in it yet); with a name, for such a tag list.
 */
export const plannedListId = (tag?: string): string =>
  tag === undefined ? 'planned:new-list' : `planned:new-tag:${tag}`;

/** What a run was asked to do. It is the workflow's input. */
export interface SyncRequest {
  platform: Platform;
  /** Sync into this existing list; absent: create a new list named `listName`. */
  listId?: string;
  listName: string;
  /** Kept with the run: not every platform's lists have a description. */
  description?: string;
  syncType: SyncType;
  /** For sync type 'specific'. Persisted by the first activity and not carried further. */
  userIds?: string[];
  tags: string[];
  filterActive: boolean;
  activeDays: number;
  /** Contact properties to send: property key → column of the users relation. */
  properties?: Record<string, string>;
  trigger: RunTrigger;
  scheduleId?: string;
  /** Absent in runs started before modes existed: `add`. */
  mode?: SyncMode;
  /** For `mirror`; absent: DEFAULT_MAX_REMOVALS. */
  maxRemovals?: MaxRemovals;
  /** Plan only: no write to the platform, no list created or held. */
  dryRun?: boolean;
}

/** How a run ended, or that it still runs (a paused run still runs: it keeps its list). */
export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * `processed = added + skipped + failed` over the users a run read (its population). `removed`
 * and `unsubscribed` count contacts: taken out of the list (mirror leavers), marked unsubscribed
 * (the opt-out rule), beside that arithmetic.
 */
export interface SyncCounts {
  processed: number;
  added: number;
  failed: number;
  skipped: number;
  removed: number;
  unsubscribed: number;
  /** Added or already-present users whose fields were patched (not part of `processed`). */
  updated: number;
}

export interface SyncProgress extends SyncCounts {
  /** Users the run expects to look at, counted when it started (users may arrive meanwhile). */
  total: number;
}

export const emptyCounts = (): SyncCounts => ({
  processed: 0,
  added: 0,
  failed: 0,
  skipped: 0,
  removed: 0,
  unsubscribed: 0,
  updated: 0,
});

/** The fields of SyncCounts, which are also the runs table's count columns. */
export const COUNT_FIELDS = [
  'processed',
  'added',
  'failed',
  'skipped',
  'removed',
  'unsubscribed',
  'updated',
] as const satisfies readonly (keyof SyncCounts)[];

/** The counts of something that holds more (a run record, a progress): the one list of them. */
export const countsOf = (source: SyncCounts): SyncCounts =>
  Object.fromEntries(COUNT_FIELDS.map((field) => [field, source[field]])) as unknown as SyncCounts;

/** The counts a run answers as its result: `processed` is their sum, not an outcome. */
export type OutcomeCounts = Omit<SyncCounts, 'processed'>;

export const outcomeCountsOf = (source: SyncCounts): OutcomeCounts => {
  const { processed: _sum, ...outcomes } = countsOf(source);
  return outcomes;
};

/** A run's status as answers show it: a paused run is `running` in its record (it keeps its list). */
export type RunViewStatus = RunStatus | 'paused';

export type RunPhase = 'preparing' | 'preparing-platform' | 'syncing' | 'removing' | 'finished';

/** The run's state; carried across continue-as-new and answered by the progress query. */
export interface SyncRunState {
  phase: RunPhase;
  listId: string | null;
  listName: string;
  tagListIds: string[];
  activeSince: string;
  cursor: string | null;
  batchNo: number;
  /** Users per batch (the worker's SYNC_BATCH_SIZE), for summaries. */
  batchSize: number;
  /** Batches in flight at once (the worker's SYNC_BATCHES_IN_FLIGHT); absent: 2. */
  batchesInFlight?: number;
  progress: SyncProgress;
  /** Paused through the pause update: no batch starts until it is resumed. */
  paused?: boolean;
  /** True while the run holds between two batches because it is paused. */
  holding?: boolean;
  /** Mirror runs: the leavers found after the population pass (set once they are planned). */
  leavers?: { planned: number; batchNo: number };
  /** Executions of this run so far (1 + continue-as-new count). */
  execution: number;
  /** The bulk pass before the batch pass: its cursor and chunks so far; absent before it. */
  bulk?: { cursor: string | null; chunkNo: number; done: boolean };
  startedAt: string;
}

export interface SyncWorkflowInput {
  request: SyncRequest;
  /** Present after continue-as-new. */
  state?: SyncRunState;
}

/** `skipped`: a run a schedule started while MAX_CONCURRENT_RUNS (or dry runs') were running. */
export type SyncRunStatus = 'completed' | 'list_busy' | 'skipped';

/** The failure type of a mirror run that would remove more than `maxRemovals` allows. */
export const REMOVAL_GUARD_TRIPPED = 'removal_guard_tripped';

export interface SyncRunResult {
  status: SyncRunStatus;
  runId: string;
  listId: string | null;
  listName: string;
  progress: SyncProgress;
  /** For 'list_busy': the run that is already syncing into the list. */
  activeRunId?: string;
  /** A dry run's plan: what a real run with the same request would do. */
  plan?: RunPlan;
  /** For 'skipped': the limit's code and why. */
  skipped?: { code: string; message: string };
}

/** Outcome reasons a user can end a run with. */
export const SKIP_REASONS = [
  'opted_out',
  'duplicate_email',
  'not_found',
  'deleted',
  'inactive',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];
