import { links } from '../router.js';
import type { Plan, PlanClass } from '../types.js';
import { reasonInWords } from '../words.js';

const CLASSES: {
  key: 'create' | 'join' | 'present' | 'update' | 'remove' | 'unsubscribe';
  words: string;
}[] = [
  { key: 'create', words: 'would be created as new contacts and added' },
  { key: 'join', words: 'already have a contact that would join the list' },
  { key: 'present', words: 'are already in the list: nothing to send' },
  { key: 'update', words: 'would have changed fields updated (of those joining or present)' },
  { key: 'remove', words: 'would be taken out of the list (mirror leavers)' },
  { key: 'unsubscribe', words: 'would be marked unsubscribed (they opted out)' },
];

function Ids({ entry }: { entry: PlanClass }) {
  if (entry.userIds.length === 0) return null;
  const more = entry.count > entry.userIds.length ? ', …' : '';
  return (
    <span class="id">
      {' '}
      (user ids {entry.userIds.join(', ')}
      {more})
    </span>
  );
}

/** A dry run's plan: what a real run with the same settings would do, class by class. */
export function PlanView({ plan, runId }: { plan: Plan; runId?: string }) {
  const byReason = (outcome: 'skipped' | 'failed') =>
    Object.entries(plan[outcome].byReason).map(([reason, entry]) => (
      <li key={`${outcome}-${reason}`}>
        {entry.count.toLocaleString('en-US')} would be {outcome}: {reasonInWords(reason)}
        <Ids entry={entry} />
      </li>
    ));
  return (
    <section aria-labelledby="plan-heading" class="panel plan">
      <h2 id="plan-heading">Dry run plan</h2>
      {runId ? (
        <p>
          Dry run <a href={links.run(runId)}>{runId}</a>
        </p>
      ) : null}
      <p>
        {plan.list.create
          ? `A real run would create the list "${plan.list.name}".`
          : `A real run would sync into the list "${plan.list.name}".`}
        {plan.tagsToCreate.length > 0
          ? ` It would create the tag lists ${plan.tagsToCreate.join(', ')}.`
          : ''}{' '}
        Nothing was written to the platform.
      </p>
      <ul>
        {CLASSES.map(({ key, words }) => (
          <li key={key}>
            <strong>{plan[key].count.toLocaleString('en-US')}</strong> {words}
            <Ids entry={plan[key]} />
          </li>
        ))}
        {byReason('skipped')}
        {byReason('failed')}
      </ul>
      {plan.removalGuard ? (
        <p class={plan.removalGuard.tripped ? 'error' : ''}>
          Removal guard: {plan.removalGuard.wouldRemove} of {plan.removalGuard.tracked} tracked
          members would be removed; at most {plan.removalGuard.maxRemovals} may be.
          {plan.removalGuard.tripped
            ? ' A real run would remove nobody and fail (removal_guard_tripped).'
            : ''}
        </p>
      ) : null}
    </section>
  );
}
