import { useEffect, useState } from 'preact/hooks';
import { call, query } from '../api.js';
import { useAction } from '../hooks.js';
import { go, links } from '../router.js';
import { emptySyncForm, previewQuery, type SyncForm, syncBody } from '../sync-form.js';
import { isLive, type RunView } from '../types.js';
import { ErrorMessage, ScreenHeading } from '../ui.js';
import { PlanView } from './plan.js';
import { ScheduleForm } from './schedule-form.js';
import { SyncFields } from './sync-fields.js';

interface PreviewAnswer {
  count: number;
  countedAt?: string;
  sample: { email: string; full_name: string | null }[];
}

interface StartAnswer {
  runId: string;
}

const POLL_MS = 500;

/** Polls a run until it ends, for the dry run's plan. */
async function runToEnd(runId: string): Promise<RunView> {
  const path = `/api/marketing/sync-users/${encodeURIComponent(runId)}`;
  for (;;) {
    const run = await call<RunView>('GET', path);
    if (!isLive(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The platforms this service knows, as its own API document lists them. */
async function knownPlatforms(): Promise<string[]> {
  const document = await call<{
    components?: { schemas?: Record<string, { properties?: { platform?: { enum?: string[] } } }> };
  }>('GET', '/openapi.json');
  return document.components?.schemas?.SyncRequest?.properties?.platform?.enum ?? ['resend'];
}

export function NewSyncScreen() {
  const [form, setForm] = useState<SyncForm>(emptySyncForm);
  const [platforms, setPlatforms] = useState<string[]>(['resend']);
  const [preview, setPreview] = useState<PreviewAnswer | undefined>(undefined);
  const [dryRun, setDryRun] = useState<RunView | undefined>(undefined);
  const action = useAction();
  useEffect(() => {
    void knownPlatforms()
      .then(setPlatforms)
      .catch(() => undefined);
  }, []);
  const change = (patch: Partial<SyncForm>) => setForm((current) => ({ ...current, ...patch }));

  const runPreview = () =>
    action.run(async () => {
      setDryRun(undefined);
      setPreview(
        await call<PreviewAnswer>('GET', `/api/marketing/sync-users${query(previewQuery(form))}`),
      );
    });
  const runDryRun = () =>
    action.run(async () => {
      setPreview(undefined);
      const started = await call<StartAnswer>('POST', '/api/marketing/sync', {
        body: { ...syncBody(form), dry_run: true },
        headers: { prefer: 'respond-async' },
      });
      setDryRun(await runToEnd(started.runId));
    });
  const startSync = () =>
    action.run(async () => {
      const started = await call<StartAnswer>('POST', '/api/marketing/sync', {
        body: syncBody(form),
        headers: { prefer: 'respond-async' },
      });
      go(links.run(started.runId));
    });

  return (
    <>
      <ScreenHeading>New sync</ScreenHeading>
      <p>
        Choose who to sync and where. Preview counts the users; a dry run shows what a sync would do
        without writing anything to the platform.
      </p>
      <form class="sync-form" onSubmit={(event) => event.preventDefault()}>
        <SyncFields form={form} platforms={platforms} change={change} />
        <div class="actions">
          <button type="button" class="secondary" onClick={runPreview} disabled={action.busy}>
            Preview
          </button>
          <button type="button" class="secondary" onClick={runDryRun} disabled={action.busy}>
            Dry run
          </button>
          <button type="button" onClick={startSync} disabled={action.busy}>
            Start sync
          </button>
        </div>
      </form>
      <div aria-live="polite">
        {action.busy ? <p>Working…</p> : null}
        <ErrorMessage message={action.error} />
        {preview ? <PreviewView preview={preview} /> : null}
        {dryRun?.plan ? <PlanView plan={dryRun.plan} runId={dryRun.runId} /> : null}
        {dryRun && !dryRun.plan ? (
          <p class="error">{dryRun.error?.message ?? `The dry run ended ${dryRun.status}.`}</p>
        ) : null}
      </div>
      <ScheduleForm sync={() => syncBody(form)} />
    </>
  );
}

function PreviewView({ preview }: { preview: PreviewAnswer }) {
  return (
    <section aria-labelledby="preview-heading" class="panel">
      <h2 id="preview-heading">Preview</h2>
      <p class="big">
        <strong>{preview.count.toLocaleString('en-US')}</strong> users would be synced with this
        filter (one per distinct email).
      </p>
      {preview.sample.length > 0 ? (
        <>
          <p>The first of them:</p>
          <ul>
            {preview.sample.map((user) => (
              <li key={user.email}>
                {user.full_name ? `${user.full_name} — ` : ''}
                {user.email}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
