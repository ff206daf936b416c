import { useState } from 'preact/hooks';
import { call, downloadCsv, query } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import type { RunUser, RunUsersPage } from '../types.js';
import { ErrorMessage, Loading } from '../ui.js';
import { reasonInWords } from '../words.js';

const PAGE_SIZE = 25;
const OUTCOMES = ['added', 'updated', 'skipped', 'failed'] as const;

/** The run's users by outcome and reason (ids only), a page at a time, and all of them as CSV. */
export function RunUsers({ runId, live }: { runId: string; live: boolean }) {
  const [outcome, setOutcome] = useState('');
  const [reason, setReason] = useState('');
  // The cursors of the pages before this one, so "Previous page" goes back.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const base = `/api/marketing/sync-users/${encodeURIComponent(runId)}/users`;
  const filters = { outcome, reason: reason.trim() };
  const page = useLoad(
    async (signal) => {
      return call<RunUsersPage>(
        'GET',
        `${base}${query({ ...filters, limit: PAGE_SIZE, cursor })}`,
        { signal },
      );
    },
    `${runId}|${outcome}|${filters.reason}|${cursor ?? ''}`,
    { refreshMs: () => (live ? 2000 : undefined) },
  );
  const download = useAction();
  const filter = (change: () => void) => {
    change();
    setCursors([]);
  };

  return (
    <section aria-labelledby="run-users" class="panel">
      <h2 id="run-users">Users of this run</h2>
      <div class="filters">
        <div class="field">
          <label for="users-outcome">Outcome</label>
          <select
            id="users-outcome"
            value={outcome}
            onChange={(event) => filter(() => setOutcome(event.currentTarget.value))}
          >
            <option value="">Any outcome</option>
            {OUTCOMES.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="users-reason">Reason</label>
          <input
            id="users-reason"
            value={reason}
            onChange={(event) => filter(() => setReason(event.currentTarget.value))}
          />
        </div>
        <button
          type="button"
          class="secondary"
          disabled={download.busy}
          onClick={() =>
            download.run(() => downloadCsv(`${base}${query(filters)}`, `${runId}-users.csv`))
          }
        >
          Download CSV
        </button>
      </div>
      <ErrorMessage message={page.error ?? download.error} />
      {page.value ? <UserTable users={page.value.users} /> : <Loading loaded={page} />}
      <div class="actions">
        {cursors.length > 0 ? (
          <button type="button" class="secondary" onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
        ) : null}
        {page.value?.next ? (
          <button
            type="button"
            class="secondary"
            onClick={() => page.value?.next && setCursors([...cursors, page.value.next])}
          >
            Next page
          </button>
        ) : null}
      </div>
    </section>
  );
}

function UserTable({ users }: { users: RunUser[] }) {
  if (users.length === 0) return <p>No users match.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">User id</th>
            <th scope="col">Outcome</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={`${user.userId}-${user.outcome}`}>
              <td class="id">{user.userId}</td>
              <td>{user.outcome}</td>
              <td>{user.reason ? reasonInWords(user.reason) : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
