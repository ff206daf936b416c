import { useKeptCount } from './preview-count-keeper.js';
import { readKeptPreviewCount } from './preview-counts.js';
import type { Sql } from './sql.js';
import {
  type ActivityFilter,
  countEligibleEmails,
  inspectUsersSource,
  type PreviewUser,
  sampleEligibleUsers,
  unknownColumns,
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
  /** When `count` was counted: now, or the kept count's time (at most 60 s ago). */
  countedAt: string;
  sample: PreviewUser[];
  activeSince: string;
}

export const SAMPLE_SIZE = 5;

export interface PreviewDeps {
  sql: Sql;
  usersSource: string;
  /**
   * Relations whose exact count reads at most this many eligible users are counted exactly; larger
   * ones answer with the kept count while it is fresh. Infinity: always exact.
   */
  exactMaxUsers?: number;
}

/**
 * Counts and samples the users a sync would add now. The API calls this activity function
 * directly (no workflow): its sample holds names and emails, which never belong in Temporal.
 * The sample is always exact; the count is exact for small relations and otherwise the one the
 * keeper (preview-counts.ts) counted at `countedAt`, for the window activeDays before that.
 */
export function createPreviewActivities(deps: PreviewDeps) {
  const usersSource = usersSourceLoader(deps.sql, deps.usersSource);
  const exactMaxUsers = deps.exactMaxUsers ?? Number.POSITIVE_INFINITY;

  /** A caller asking about a given moment (`input.now`) gets an exact count for it. */
  const count = async (input: PreviewInput, filter: ActivityFilter, now: Date) => {
    const kept =
      Number.isFinite(exactMaxUsers) && input.now === undefined
        ? await readKeptPreviewCount(
            deps.sql,
            deps.usersSource,
            input.filterActive ? input.activeDays : null,
          )
        : undefined;
    if (useKeptCount(kept, now, exactMaxUsers)) {
      return { count: kept.count, countedAt: kept.countedAt.toISOString() };
    }
    const exact = await countEligibleEmails(deps.sql, await usersSource(), filter);
    return { count: exact, countedAt: now.toISOString() };
  };

  return {
    async previewUsers(input: PreviewInput): Promise<PreviewOutput> {
      const now = input.now ?? new Date();
      const activeSince = new Date(now.getTime() - input.activeDays * 86_400_000).toISOString();
      const filter = { filterActive: input.filterActive, activeSince };
      const users = await usersSource();
      const [counted, sample] = await Promise.all([
        count(input, filter, now),
        sampleEligibleUsers(deps.sql, users, filter, SAMPLE_SIZE),
      ]);
      return { ...counted, sample, activeSince };
    },

    /** Throws UsersSourceError, naming what it lacks, when the relation cannot serve a run. */
    async checkUsersSource(): Promise<void> {
      await inspectUsersSource(deps.sql, deps.usersSource);
    },

    /** Columns the users relation does not have, read from the catalog now (columns change). */
    async unknownColumns(columns: string[]): Promise<string[]> {
      return unknownColumns(await inspectUsersSource(deps.sql, deps.usersSource), columns);
    },
  };
}
