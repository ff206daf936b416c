import type { Progress } from './words.js';

/** What the status endpoint and the runs list say about a run (the fields the console shows). */
export interface RunView {
  runId: string;
  status: string;
  audience: { id: string | null; name: string } | null;
  platform?: string;
  listName?: string | null;
  syncType?: string;
  mode?: string;
  trigger?: string;
  scheduleId?: string | null;
  tags?: string[];
  phase?: string;
  progress: Progress;
  startedAt: string;
  finishedAt?: string;
  message?: string;
  dryRun?: boolean;
  platformUnavailableSince?: string;
  bulk?: { mode: string; message: string };
  error?: { code: string; message: string };
  reasons?: { skipped?: Record<string, number>; failed?: Record<string, number> };
  plan?: Plan;
}

export interface PlanClass {
  count: number;
  userIds: string[];
}

export interface Plan {
  list: { id: string | null; name: string; create: boolean };
  tagsToCreate: string[];
  create: PlanClass;
  join: PlanClass;
  present: PlanClass;
  update: PlanClass;
  remove: PlanClass;
  unsubscribe: PlanClass;
  skipped: { count: number; byReason: Record<string, PlanClass> };
  failed: { count: number; byReason: Record<string, PlanClass> };
  removalGuard?: { tracked: number; wouldRemove: number; maxRemovals: number; tripped: boolean };
}

export interface RunsPage {
  runs: RunView[];
  next?: string | null;
}

export interface RunUser {
  userId: string;
  outcome: string;
  reason?: string | null;
}

export interface RunUsersPage {
  users: RunUser[];
  next?: string | null;
}

export interface ScheduleView {
  scheduleId: string;
  paused: boolean;
  note?: string;
  spec: { cron: string[]; every: string[]; timezone?: string };
  nextRunTimes: string[];
  recentRuns: { runId: string; scheduledAt: string; startedAt: string; status?: string }[];
}

export const RUN_STATES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;

export const isLive = (status: string): boolean => status === 'running' || status === 'paused';
