import { useState } from 'preact/hooks';
import { call, query } from '../api.js';
import { useLoad } from '../hooks.js';
import { links } from '../router.js';
import { isLive, RUN_STATES, type RunSummary, type RunsPage } from '../types.js';
import { ErrorMessage, Loading, ScreenHeading, StatusBadge, Time } from '../ui.js';
import { runKindInWords } from '../words.js';

/** While a listed run is in progress the list follows it; otherwise it looks for new runs. */
const LIVE_MS = 2000;
const IDLE_MS = 10_000;

function loadRuns(filters: { status: string; listId: string }, signal: AbortSignal) {
  return call<RunsPage>(
    'GET',
    `/api/marketing/runs${query({ status: filters.status, list_id: filters.listId, limit: 50 })}`,
    { signal },
  );
}

export function RunsScreen() {
  const [status, setStatus] = useState('');
  const [listInput, setListInput] = useState('');
  const [listId, setListId] = useState('');
  const runs = useLoad((signal) => loadRuns({ status, listId }, signal), `${status}|${listId}`, {
    refreshMs: (page) => (page?.runs.some((run) => isLive(run.status)) ? LIVE_MS : IDLE_MS),
  });

  return (
    <>
      <ScreenHeading>Runs</ScreenHeading>
      <p>Every sync run, newest first, whoever started it: the API, a schedule or this console.</p>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setListId(listInput.trim());
        }}
      >
        <div class="field">
          <label for="runs-status">Status</label>
          <select
            id="runs-status"
            value={status}
            onChange={(event) => setStatus(event.currentTarget.value)}
          >
            <option value="">Any status</option>
            {RUN_STATES.map((state) => (
              <option key={state} value={state}>
                {state}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="runs-list">List id</label>
          <input
            id="runs-list"
            value={listInput}
            onInput={(event) => setListInput(event.currentTarget.value)}
          />
        </div>
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      <ErrorMessage message={runs.error} />
      {runs.value ? <RunList runs={runs.value.runs} /> : <Loading loaded={runs} />}
    </>
  );
}

function RunList({ runs }: { runs: RunSummary[] }) {
  if (runs.length === 0) return <p>No runs match.</p>;
  return (
    <ul class="cards" aria-label="Runs">
      {runs.map((run) => (
        <li key={run.runId} class="card">
          <h2 class="card-title">
            <a href={links.run(run.runId)}>
              {run.dryRun ? 'Dry run: ' : ''}
              {run.audience?.name ?? run.listName ?? run.runId}
            </a>{' '}
            <StatusBadge status={run.status} />
          </h2>
          <dl class="facts">
            <dt>Platform</dt>
            <dd>{run.platform}</dd>
            <dt>List id</dt>
            <dd class="id">{run.audience?.id ?? '—'}</dd>
            <dt>What</dt>
            <dd>{runKindInWords(run)}</dd>
            <dt>Started</dt>
            <dd>
              <Time iso={run.startedAt} />
            </dd>
            <dt>Finished</dt>
            <dd>
              <Time iso={run.finishedAt} />
            </dd>
            <dt>Counts</dt>
            <dd>
              {run.progress.added} added, {run.progress.updated} updated, {run.progress.skipped}{' '}
              skipped, {run.progress.failed} failed, {run.progress.removed} removed
            </dd>
          </dl>
        </li>
      ))}
    </ul>
  );
}
