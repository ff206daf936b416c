import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { TextField } from '../fields.js';
import { useAction } from '../hooks.js';
import { go, links } from '../router.js';
import { ErrorMessage } from '../ui.js';

/** Runs the New sync form's sync on a schedule: every interval, or by a cron expression. */
export function ScheduleForm({ sync }: { sync: () => Record<string, unknown> }) {
  const [scheduleId, setScheduleId] = useState('');
  const [every, setEvery] = useState('6h');
  const [cron, setCron] = useState('');
  const action = useAction();
  const create = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const when = cron.trim() ? { cron: cron.trim() } : { every: every.trim() };
      await call('POST', '/api/marketing/schedules', {
        body: { scheduleId: scheduleId.trim(), ...when, sync: sync() },
      });
      go(links.schedules);
    });
  };
  return (
    <section aria-labelledby="schedule-heading" class="panel">
      <h2 id="schedule-heading">Run this sync on a schedule</h2>
      <p>
        A schedule starts the sync above again and again. Recurring syncs usually add new users
        (sync type "new") into an existing list.
      </p>
      <form onSubmit={create}>
        <TextField
          id="schedule-id"
          label="Schedule name"
          required
          value={scheduleId}
          onValue={setScheduleId}
          hint="Letters, digits and dashes, e.g. newsletter-new-users."
        />
        <TextField
          id="schedule-every"
          label="Repeat every"
          value={every}
          onValue={setEvery}
          hint="For example 30m, 6h or 24h (at least 5 minutes)."
        />
        <TextField
          id="schedule-cron"
          label="Or a cron expression"
          value={cron}
          onValue={setCron}
          hint={'Replaces "Repeat every" when given, e.g. 0 6 * * 1 for Mondays at 06:00 UTC.'}
        />
        <button type="submit" disabled={action.busy}>
          Create schedule
        </button>
      </form>
      <ErrorMessage message={action.error} />
    </section>
  );
}
