import { call } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { links } from '../router.js';
import type { ScheduleView } from '../types.js';
import { ErrorMessage, Loading, ScreenHeading, Time } from '../ui.js';
import { scheduleSpecInWords } from '../words.js';

const REFRESH_MS = 5000;

export function SchedulesScreen() {
  const schedules = useLoad(
    (signal) =>
      call<{ schedules: ScheduleView[] }>('GET', '/api/marketing/schedules', { signal }).then(
        (answer) => answer.schedules,
      ),
    'schedules',
    { refreshMs: () => REFRESH_MS },
  );
  return (
    <>
      <ScreenHeading>Schedules</ScreenHeading>
      <p>
        Syncs that run again and again. To create one, fill in the{' '}
        <a href={links.newSync}>New sync</a> form and use "Run this sync on a schedule" below it.
      </p>
      <ErrorMessage message={schedules.error} />
      {schedules.value ? (
        <ScheduleList schedules={schedules.value} changed={schedules.reload} />
      ) : (
        <Loading loaded={schedules} />
      )}
    </>
  );
}

function ScheduleList({ schedules, changed }: { schedules: ScheduleView[]; changed: () => void }) {
  if (schedules.length === 0) return <p>No schedules yet.</p>;
  return (
    <ul class="cards" aria-label="Schedules">
      {schedules.map((schedule) => (
        <ScheduleCard key={schedule.scheduleId} schedule={schedule} changed={changed} />
      ))}
    </ul>
  );
}

function ScheduleCard({ schedule, changed }: { schedule: ScheduleView; changed: () => void }) {
  const action = useAction();
  const path = `/api/marketing/schedules/${encodeURIComponent(schedule.scheduleId)}`;
  const act = (method: string, suffix: string) => async () => {
    await action.run(() => call(method, `${path}${suffix}`));
    changed();
  };
  const remove = async () => {
    if (!confirm(`Delete the schedule ${schedule.scheduleId}? Runs it started stay.`)) return;
    await act('DELETE', '')();
  };
  const lastRun = schedule.recentRuns.at(-1);
  const headingId = `schedule-${schedule.scheduleId}`;
  return (
    <li class="card" aria-labelledby={headingId}>
      <h2 class="card-title" id={headingId}>
        {schedule.scheduleId}{' '}
        <span class={`badge badge-${schedule.paused ? 'paused' : 'running'}`}>
          {schedule.paused ? 'paused' : 'active'}
        </span>
      </h2>
      <dl class="facts">
        <dt>Runs</dt>
        <dd>{scheduleSpecInWords(schedule.spec)}</dd>
        <dt>Next run</dt>
        <dd>{schedule.paused ? 'none while paused' : <Time iso={schedule.nextRunTimes[0]} />}</dd>
        <dt>Last run</dt>
        <dd>
          {lastRun ? (
            <a href={links.run(lastRun.runId)}>
              <Time iso={lastRun.startedAt} />
              {lastRun.status ? ` (${lastRun.status})` : ''}
            </a>
          ) : (
            'not run yet'
          )}
        </dd>
        {schedule.note ? (
          <>
            <dt>Note</dt>
            <dd>{schedule.note}</dd>
          </>
        ) : null}
      </dl>
      <div class="actions">
        <button type="button" onClick={act('POST', '/trigger')} disabled={action.busy}>
          Trigger
        </button>
        {schedule.paused ? (
          <button
            type="button"
            class="secondary"
            onClick={act('POST', '/unpause')}
            disabled={action.busy}
          >
            Unpause
          </button>
        ) : (
          <button
            type="button"
            class="secondary"
            onClick={act('POST', '/pause')}
            disabled={action.busy}
          >
            Pause
          </button>
        )}
        <button type="button" class="danger" onClick={remove} disabled={action.busy}>
          Delete
        </button>
      </div>
      <ErrorMessage message={action.error} />
    </li>
  );
}
