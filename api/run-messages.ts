import type { RunPlan } from '../common/plan.js';
import type { RunViewStatus, SyncProgress } from '../common/sync.js';

/** What a run's answers say of it, in one sentence: what happened, never more than that. */
export interface RunMessageFacts {
  status: RunViewStatus;
  progress: SyncProgress;
  dryRun: boolean;
  plan?: RunPlan | undefined;
  error?: { code: string; message: string } | undefined;
}

const plural = (count: number, one: string, many = `${one}s`): string =>
  `${count} ${count === 1 ? one : many}`;

const outcomeCounts = ({ added, skipped, failed }: SyncProgress): string =>
  `${added} added, ${skipped} skipped, ${failed} failed`;

/** A list of clauses as a sentence: `a, b and c`. */
const joined = (clauses: string[]): string =>
  clauses.length <= 1
    ? (clauses[0] ?? '')
    : `${clauses.slice(0, -1).join(', ')} and ${clauses.at(-1)}`;

/** What a dry run's plan says a real run would do, and what would stop it. */
function dryRunMessage(plan: RunPlan | undefined, progress: SyncProgress): string {
  // The runs list answers without each dry run's plan: the run's status has it.
  if (!plan) {
    return `Dry run finished, nothing written: ${plural(progress.processed, 'user')} planned (the plan is in the run's status)`;
  }
  const guard = plan.removalGuard;
  const would = joined(
    [
      plan.create.count > 0 ? `create ${plural(plan.create.count, 'contact')}` : '',
      plan.join.count > 0 ? `add ${plural(plan.join.count, 'existing contact')} to the list` : '',
      plan.update.count > 0 ? `update ${plural(plan.update.count, 'contact')}` : '',
      // A tripped guard removes nothing.
      plan.remove.count > 0 && !guard?.tripped
        ? `remove ${plural(plan.remove.count, 'contact')}`
        : '',
      plan.unsubscribe.count > 0
        ? `mark ${plural(plan.unsubscribe.count, 'contact')} unsubscribed`
        : '',
    ].filter(Boolean),
  );
  const counts = `${plan.present.count} already in the list, ${plan.skipped.count} skipped, ${plan.failed.count} failed`;
  if (guard?.tripped) {
    return `Dry run, nothing written: a real run would stop with removal_guard_tripped and remove nothing, as it would remove ${plural(guard.wouldRemove, 'contact')}, more than the ${guard.maxRemovals} max_removals allows; before that it would ${would || 'change nothing'} (${counts})`;
  }
  return `Dry run, nothing written: a real run would ${would || 'change nothing'} (${counts})`;
}

/**
 * The answer's `message`: completed (successfully, or with how many failures), a dry run's plan
 * ("would …"), failed and why, cancelled or skipped and why, or how far a running run is.
 */
export function runMessage(facts: RunMessageFacts): string {
  const { status, progress, error } = facts;
  if (facts.dryRun && status === 'completed') return dryRunMessage(facts.plan, progress);
  switch (status) {
    case 'completed':
      return progress.failed === 0
        ? 'Sync completed successfully'
        : `Sync completed with ${plural(progress.failed, 'failure')}: of ${plural(progress.processed, 'user')}, ${outcomeCounts(progress)} (the reasons are in the run's status)`;
    case 'failed':
      return error ? `Sync failed: ${error.message}` : 'Sync failed';
    case 'cancelled':
      return error
        ? error.message
        : `Sync cancelled after ${progress.processed} of ${plural(progress.total, 'user')} (${outcomeCounts(progress)}); contacts already added stay`;
    case 'paused':
      return `Paused after ${progress.processed} of ${plural(progress.total, 'user')} (${outcomeCounts(progress)}); resume or cancel it`;
    case 'running':
      return `${facts.dryRun ? 'Dry run, planning' : 'Syncing'}: ${progress.processed} of ${plural(progress.total, 'user')} so far (${outcomeCounts(progress)})`;
  }
}
