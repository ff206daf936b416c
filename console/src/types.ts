import type { z } from 'zod';
import type {
  runSummarySchema,
  runsAnswerSchema,
  runUserSchema,
  runUsersAnswerSchema,
  sessionAnswerSchema,
} from '../../api/console-schemas.js';
import type { planSchema, runStatusSchema, scheduleAnswerSchema } from '../../api/schemas.js';

/**
 * The answers the console reads, typed by the API's own schemas (types only: nothing of the
 * server reaches the page), so a change of the API that the console does not follow fails the
 * type check.
 */
export type RunSummary = z.infer<typeof runSummarySchema>;
export type RunStatus = z.infer<typeof runStatusSchema>;
export type RunsPage = z.infer<typeof runsAnswerSchema>;
export type RunUser = z.infer<typeof runUserSchema>;
export type RunUsersPage = z.infer<typeof runUsersAnswerSchema>;
export type Plan = z.infer<typeof planSchema>;
export type PlanClass = Plan['create'];
export type ScheduleView = z.infer<typeof scheduleAnswerSchema>['schedule'];
export type Session = z.infer<typeof sessionAnswerSchema>;

/**
 * A run as the status endpoint answers it, with what the runs list adds (how it was started) and
 * what newer answers add (their message, reasons), where present.
 */
export type RunView = RunStatus &
  Partial<
    Pick<RunSummary, 'platform' | 'listName' | 'syncType' | 'mode' | 'trigger' | 'scheduleId'>
  > & {
    message?: string;
    reasons?: { skipped?: Record<string, number>; failed?: Record<string, number> };
  };

export const RUN_STATES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;

export const isLive = (status: string): boolean => status === 'running' || status === 'paused';
