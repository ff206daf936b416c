import { useState } from 'preact/hooks';
import { call, query } from '../api.js';
import { TextField } from '../fields.js';
import { useAction, useLoad } from '../hooks.js';
import { ErrorMessage, ScreenHeading, Time } from '../ui.js';
import { originInWords, parseUserIds } from '../words.js';

interface OptOut {
  userId: string;
  origin: string;
  at: string;
}

interface Erasure {
  erasureId: string;
  status: string;
  progress: {
    requested: number;
    erased: number;
    contactsDeleted: number;
    failed: number;
    pending: number;
  };
}

const FEED_PAGE = 100;

export function ConsentScreen() {
  return (
    <>
      <ScreenHeading>Consent</ScreenHeading>
      <OptOutFeed />
      <Erasures />
    </>
  );
}

/** The opt-outs feed, oldest first, a page at a time. */
function OptOutFeed() {
  const [entries, setEntries] = useState<OptOut[]>([]);
  const [after, setAfter] = useState('0');
  const page = useLoad(async (signal) => {
    const answer = await call<{ data: OptOut[]; next: string }>(
      'GET',
      `/api/marketing/opt-outs${query({ after, limit: FEED_PAGE })}`,
      { signal },
    );
    setEntries((current) => (after === '0' ? answer.data : [...current, ...answer.data]));
    return answer;
  }, after);
  const more = page.value && page.value.data.length === FEED_PAGE;
  return (
    <section aria-labelledby="feed-heading" class="panel">
      <h2 id="feed-heading">Opt-outs</h2>
      <p>
        People who unsubscribed, were deleted or suppressed on a platform, or were erased, oldest
        first. Syncs skip them.
      </p>
      <ErrorMessage message={page.error} />
      {entries.length === 0 && !page.loading ? <p>Nobody has opted out yet.</p> : null}
      {entries.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User id</th>
                <th scope="col">What happened</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={`${entry.userId}-${entry.origin}-${entry.at}`}>
                  <td class="id">{entry.userId}</td>
                  <td>{originInWords(entry.origin)}</td>
                  <td>
                    <Time iso={entry.at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {more ? (
        <button type="button" class="secondary" onClick={() => setAfter(page.value?.next ?? after)}>
          Show more
        </button>
      ) : null}
    </section>
  );
}

/** Start an erasure from pasted ids, and follow it. */
function Erasures() {
  const [ids, setIds] = useState('');
  const [erasureId, setErasureId] = useState<string | undefined>(undefined);
  const action = useAction();
  const start = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const started = await call<Erasure>('POST', '/api/marketing/erasures', {
        body: { user_ids: parseUserIds(ids) },
      });
      setErasureId(started.erasureId);
      setIds('');
    });
  };
  return (
    <section aria-labelledby="erasure-heading" class="panel">
      <h2 id="erasure-heading">Erase people</h2>
      <p>
        Deletes every contact this service ever sent for these users, on every platform, and all its
        records of them except a note that keeps later syncs from adding them again.
      </p>
      <form onSubmit={start}>
        <TextField
          id="erasure-ids"
          label="User ids to erase"
          rows={4}
          required
          value={ids}
          onValue={setIds}
          hint="Paste ids separated by commas, spaces or new lines."
        />
        <button type="submit" class="danger" disabled={action.busy}>
          Start erasure
        </button>
      </form>
      <ErrorMessage message={action.error} />
      {erasureId ? <ErasureStatus key={erasureId} erasureId={erasureId} /> : null}
    </section>
  );
}

function ErasureStatus({ erasureId }: { erasureId: string }) {
  const erasure = useLoad(
    (signal) =>
      call<Erasure>('GET', `/api/marketing/erasures/${encodeURIComponent(erasureId)}`, { signal }),
    erasureId,
    { refreshMs: (value) => (value?.status === 'running' || !value ? 1000 : undefined) },
  );
  const value = erasure.value;
  return (
    <div aria-live="polite" class="erasure-status">
      <ErrorMessage message={erasure.error} />
      {value ? (
        <p>
          Erasure <span class="id">{value.erasureId}</span>: <strong>{value.status}</strong>.{' '}
          {value.progress.erased} of {value.progress.requested} users erased,{' '}
          {value.progress.contactsDeleted} contacts deleted, {value.progress.failed} failed,{' '}
          {value.progress.pending} pending.
        </p>
      ) : null}
    </div>
  );
}
