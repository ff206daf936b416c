import { describe, expect, it } from 'vitest';
import { runMessage } from '../../../api/run-messages.js';
import { buildRunPlan, type PlanRow } from '../../../common/plan.js';
import type { SyncProgress } from '../../../common/sync.js';

const progress = (counts: Partial<SyncProgress>): SyncProgress => ({
  total: 0,
  processed: 0,
  added: 0,
  failed: 0,
  skipped: 0,
  removed: 0,
  unsubscribed: 0,
  updated: 0,
  ...counts,
});

const row = (kind: PlanRow['kind'], count: number, reason: string | null = null): PlanRow => ({
  kind,
  reason,
  count,
  userIds: [],
});

const list = { id: 'list-1', name: 'Newsletter', create: false };

describe('runMessage', () => {
  it('says a run completed successfully only when nothing failed', () => {
    const done = progress({ total: 10, processed: 10, added: 8, skipped: 2 });
    expect(runMessage({ status: 'completed', progress: done, dryRun: false })).toBe(
      'Sync completed successfully',
    );
  });

  it('names how many failed when some did, even when none was added', () => {
    const failed = progress({ total: 59, processed: 59, failed: 59 });
    expect(runMessage({ status: 'completed', progress: failed, dryRun: false })).toBe(
      "Sync completed with 59 failures: of 59 users, 0 added, 0 skipped, 59 failed (the reasons are in the run's status)",
    );
    const one = progress({ total: 3, processed: 3, added: 2, failed: 1 });
    expect(runMessage({ status: 'completed', progress: one, dryRun: false })).toBe(
      "Sync completed with 1 failure: of 3 users, 2 added, 0 skipped, 1 failed (the reasons are in the run's status)",
    );
  });

  it('says what a dry run would do, never that it synced', () => {
    const plan = buildRunPlan(
      [
        row('create', 3),
        row('join', 1),
        row('present', 25),
        row('update', 4),
        row('skipped', 3, 'opted_out'),
        row('failed', 2, 'invalid_email'),
      ],
      list,
    );
    expect(runMessage({ status: 'completed', progress: progress({}), dryRun: true, plan })).toBe(
      'Dry run, nothing written: a real run would create 3 contacts, add 1 existing contact to the list and update 4 contacts (25 already in the list, 3 skipped, 2 failed)',
    );
    const nothing = buildRunPlan([row('present', 5)], list);
    expect(
      runMessage({ status: 'completed', progress: progress({}), dryRun: true, plan: nothing }),
    ).toBe(
      'Dry run, nothing written: a real run would change nothing (5 already in the list, 0 skipped, 0 failed)',
    );
  });

  it('says a dry run whose removal guard trips would stop there', () => {
    const plan = buildRunPlan([row('create', 1), row('remove', 12)], list, [], {
      tracked: 20,
      wouldRemove: 12,
      maxRemovals: 10,
      tripped: true,
    });
    expect(runMessage({ status: 'completed', progress: progress({}), dryRun: true, plan })).toBe(
      'Dry run, nothing written: a real run would stop with removal_guard_tripped and remove nothing, as it would remove 12 contacts, more than the 10 max_removals allows; before that it would create 1 contact (0 already in the list, 0 skipped, 0 failed)',
    );
  });

  it('says why a run failed, was skipped or cancelled, and how far a running run is', () => {
    const some = progress({ total: 100, processed: 40, added: 30, skipped: 5, failed: 5 });
    const error = { code: 'platform_auth_failed', message: 'Resend refused the API key' };
    expect(runMessage({ status: 'failed', progress: some, dryRun: false, error })).toBe(
      'Sync failed: Resend refused the API key',
    );
    const skipped = { code: 'too_many_runs', message: 'Skipped: 10 runs are running' };
    expect(
      runMessage({ status: 'cancelled', progress: progress({}), dryRun: false, error: skipped }),
    ).toBe('Skipped: 10 runs are running');
    expect(runMessage({ status: 'cancelled', progress: some, dryRun: false })).toBe(
      'Sync cancelled after 40 of 100 users (30 added, 5 skipped, 5 failed); contacts already added stay',
    );
    expect(runMessage({ status: 'running', progress: some, dryRun: false })).toBe(
      'Syncing: 40 of 100 users so far (30 added, 5 skipped, 5 failed)',
    );
    expect(runMessage({ status: 'paused', progress: some, dryRun: false })).toBe(
      'Paused after 40 of 100 users (30 added, 5 skipped, 5 failed); resume or cancel it',
    );
  });
});
