import { useEffect, useState } from 'preact/hooks';
import { call } from '../api.js';
import { consoleConfig, temporalRunLink } from '../config.js';
import { useAction, useLoad } from '../hooks.js';
import { isLive, type RunView } from '../types.js';
import { Counts, ErrorMessage, Loading, ScreenHeading, StatusBadge, Time } from '../ui.js';
import { phaseInWords, reasonInWords } from '../words.js';
import { PlanView } from './plan.js';
import { RunUsers } from './run-users.js';

const LIVE_MS = 1000;

export function RunScreen({ runId }: { runId: string }) {
  const path = `/api/marketing/sync-users/${encodeURIComponent(runId)}`;
  const run = useLoad((signal) => call<RunView>('GET', path, { signal }), runId, {
    refreshMs: (value) => (value === undefined || isLive(value.status) ? LIVE_MS : undefined),
  });
  const control = useAction();
  const [temporalLink, setTemporalLink] = useState<string | undefined>(undefined);
  useEffect(() => {
    void consoleConfig().then((config) => setTemporalLink(temporalRunLink(config, runId)));
  }, [runId]);

  const act = (method: string, suffix: string) => async () => {
    await control.run(() => call(method, `${path}${suffix}`));
    run.reload();
  };
  const value = run.value;
  return (
    <>
      <ScreenHeading>
        Run {value?.audience?.name ? `into ${value.audience.name}` : ''}
      </ScreenHeading>
      <p class="id">Run id: {runId}</p>
      <ErrorMessage message={run.error} />
      {value ? (
        <>
          <section aria-labelledby="run-progress" class="panel">
            <h2 id="run-progress">
              Progress <StatusBadge status={value.status} />
            </h2>
            <div aria-live="polite">
              <p class="phase">{phaseInWords(value)}</p>
            </div>
            <progress
              max={Math.max(value.progress.total, 1)}
              value={value.progress.processed}
              aria-label="Users processed"
            />
            <Counts progress={value.progress} live />
            {value.message ? <p>{value.message}</p> : null}
            {value.bulk ? <p>{value.bulk.message}</p> : null}
            {value.error ? (
              <p class="error">
                {value.error.message} ({value.error.code})
              </p>
            ) : null}
            <dl class="facts">
              <dt>List</dt>
              <dd class="id">{value.audience?.id ?? (value.dryRun ? 'none (dry run)' : '—')}</dd>
              <dt>Started</dt>
              <dd>
                <Time iso={value.startedAt} />
              </dd>
              <dt>Finished</dt>
              <dd>
                <Time iso={value.finishedAt} />
              </dd>
            </dl>
            <div class="actions">
              {value.status === 'running' ? (
                <button type="button" onClick={act('POST', '/pause')} disabled={control.busy}>
                  Pause
                </button>
              ) : null}
              {value.status === 'paused' ? (
                <button type="button" onClick={act('POST', '/resume')} disabled={control.busy}>
                  Resume
                </button>
              ) : null}
              {isLive(value.status) ? (
                <button
                  type="button"
                  class="danger"
                  onClick={() => {
                    if (confirm('Cancel this run? Users already added stay in the list.')) {
                      void act('DELETE', '')();
                    }
                  }}
                  disabled={control.busy}
                >
                  Cancel
                </button>
              ) : null}
              {temporalLink ? (
                <a href={temporalLink} target="_blank" rel="noopener noreferrer">
                  Open this run in the Temporal Web UI
                </a>
              ) : null}
            </div>
            <ErrorMessage message={control.error} />
          </section>
          <Reasons reasons={value.reasons} />
          {value.plan ? <PlanView plan={value.plan} /> : null}
          {value.dryRun ? null : <RunUsers runId={runId} live={isLive(value.status)} />}
        </>
      ) : (
        <Loading loaded={run} />
      )}
    </>
  );
}

function Reasons({ reasons }: { reasons: RunView['reasons'] }) {
  const rows = (['skipped', 'failed'] as const).flatMap((outcome) =>
    Object.entries(reasons?.[outcome] ?? {}).map(([reason, count]) => ({ outcome, reason, count })),
  );
  if (rows.length === 0) return null;
  return (
    <section aria-labelledby="run-reasons" class="panel">
      <h2 id="run-reasons">Why users were skipped or failed</h2>
      <ul>
        {rows.map((row) => (
          <li key={`${row.outcome}-${row.reason}`}>
            {row.count.toLocaleString('en-US')} {row.outcome}: {reasonInWords(row.reason)}
          </li>
        ))}
      </ul>
    </section>
  );
}
