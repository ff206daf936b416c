import type { Sql } from '../db/sql.js';
import {
  countEligibleEmails,
  type PreviewUser,
  sampleEligibleUsers,
  usersSourceLoader,
} from './users-source.js';

export interface PreviewInput {
  filterActive: boolean;
  activeDays: number;
  /** The moment the preview is for; activeSince is activeDays before it. */
  now?: Date;
}

export interface PreviewOutput {
  count: number;
  sample: PreviewUser[];
  activeSince: string;
}

export const SAMPLE_SIZE = 5;

/**
 * Counts and samples the users a sync would add now. The API calls this activity function
 * directly (no workflow): its sample holds names and emails, which never belong in Temporal.
 */
export function createPreviewActivities(deps: { sql: Sql; usersSource: string }) {
  const usersSource = usersSourceLoader(deps.sql, deps.usersSource);

  return {
    async previewUsers(input: PreviewInput): Promise<PreviewOutput> {
      const now = input.now ?? new Date();
      const activeSince = new Date(now.getTime() - input.activeDays * 86_400_000).toISOString();
      const filter = { filterActive: input.filterActive, activeSince };
      const users = await usersSource();
      const [count, sample] = await Promise.all([
        countEligibleEmails(deps.sql, users, filter),
        sampleEligibleUsers(deps.sql, users, filter, SAMPLE_SIZE),
      ]);
      return { count, sample, activeSince };
    },
  };
}
